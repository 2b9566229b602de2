import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { englishLines, tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

/**
 * A security officer's mistakes with jinbao pki under a Chinese locale: every refusal reads Chinese,
 * problem by problem, with the exit code of the English run; the English text is as it was.
 */
const tmp = tempDir('jinbao-lang-pki-');
afterAll(() => tmp.cleanup());
const state = join(tmp.dir, 'state');
const PASS = { JINBAO_PKI_PASSPHRASE: 'correct-horse-battery' };
const zh = (...args: string[]) => runCli(['--state', state, '--lang', 'zh-CN', ...args], PASS);
const en = (...args: string[]) => runCli(['--state', state, ...args], PASS);

beforeAll(async () => {
  const init = await en('pki', 'init');
  expect(init.code).toBe(0);
}, 120_000);

/** The same failing command in both languages: exit 2 both, nothing on stdout, no English sentence under zh-CN. */
async function refusedInBoth(...args: string[]): Promise<{ zh: string; en: string }> {
  const z = await zh(...args);
  const e = await en(...args);
  expect(z.code, args.join(' ')).toBe(2);
  expect(e.code, args.join(' ')).toBe(2);
  expect(z.stdout).toBe('');
  // the lists of profile names and RFC 5280 reasons are identifiers, not English prose
  expect(englishLines(z.stderr.replaceAll(PROFILE_LIST, '').replaceAll(REASON_LIST, '')), args.join(' ')).toEqual([]);
  return { zh: z.stderr, en: e.stderr };
}

const PROFILE_LIST = 'staff-auth, staff-sign, server-tls, replica-mtls, ocsp-signing, evidence-signing';
const REASON_LIST = 'unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise';
const SERVER = ['pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--out', join(tmp.dir, 'certs')];

describe('jinbao pki issue refusals under --lang zh-CN', () => {
  it('GIVEN a server request with a foreign country, a bad DNS name, too long a validity and a foreign application THEN each problem is its own Chinese line', async () => {
    const r = await refusedInBoth(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal,C=US', '--dns', 'bad_name!', '--days', '9999', '--application', 'nope');
    expect(r.zh).toMatch(/^jinbao: 申请被拒绝：共 4 个问题，第一个：主体 C：收到“US”，应为“CN”\n/);
    expect(r.zh).toContain('  - subjectAltName DNS 名称：收到“bad_name!”，应为有效的DNS 名称\n');
    expect(r.zh).toMatch(/ {2}- 有效期：收到 9999 天，最多 \d+ 天（证书模板 server-tls v\d+）\n/);
    expect(r.zh).toMatch(/ {2}- 业务应用：收到“nope”，应为以下之一：.+（站点 440100 承载的业务领域）\n/);
    expect(r.en).toMatch(/^jinbao: request refused: 4 problems, first: subject C: got "US", want "CN"\n/);
    expect(r.en).toContain('  - subjectAltName DNS name: got "bad_name!", want a valid DNS name\n');
    expect(r.en).toMatch(/ {2}- validity: got 9999 days, want at most \d+ \(profile server-tls v\d+\)\n/);
  }, 60_000);

  it('GIVEN one problem (a subject attribute the profile does not allow) THEN the one line is Chinese', async () => {
    const r = await refusedInBoth(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal,serialNumber=1234');
    expect(r.zh).toMatch(/^jinbao: 申请被拒绝：主体属性 serialNumber：收到“1234”，只允许 C, ST, L, O, OU, CN（证书模板 server-tls v\d+）\n$/);
    expect(r.en).toMatch(/^jinbao: request refused: subject attribute serialNumber: got "1234", want only C, ST, L, O, OU, CN \(profile server-tls v\d+\)\n$/);
  }, 60_000);

  it('GIVEN an unknown profile, a key source missing and --subject with --csr THEN the refusals are Chinese', async () => {
    const profile = await refusedInBoth('pki', 'issue', '--profile', 'web', '--site', '440100', '--generate', '--subject', 'CN=x');
    expect(profile.zh).toBe(`jinbao: 未知的证书模板：收到“web”，应为以下之一：${PROFILE_LIST}\n`);
    expect(profile.en).toBe(`jinbao: unknown profile: got "web", want one of ${PROFILE_LIST}\n`);
    const none = await refusedInBoth(...SERVER);
    expect(none.zh).toBe('jinbao: 密钥来源：既没有 --csr 也没有 --generate，应恰好指定其中一个\n');
    const subject = await refusedInBoth(...SERVER, '--csr', join(tmp.dir, 'x.csr'), '--subject', 'CN=x');
    expect(subject.zh).toBe('jinbao: --subject：与 --csr 同时指定了，只能与 --generate 一起使用（CSR 自带主体）\n');
    expect(subject.en).toBe('jinbao: --subject: got it with --csr, want it only with --generate (a CSR carries its own subject)\n');
    const days = await refusedInBoth(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal', '--days', '0');
    expect(days.zh).toBe('jinbao: --days：收到的是“0”，应为不小于 1 的整数天数\n');
  }, 60_000);

  it('GIVEN a CSR file that is missing, and one that is not a request THEN the refusals are Chinese, naming the file', async () => {
    const missing = join(tmp.dir, 'missing.csr');
    const gone = await refusedInBoth(...SERVER, '--csr', missing);
    expect(gone.zh).toBe(`jinbao: --csr：无法读取 ${missing}：文件不存在\n`);
    expect(gone.en).toBe(`jinbao: --csr: cannot read ${missing}: no such file\n`);
    const cert = join(tmp.dir, 'cert.pem');
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const wrong = await refusedInBoth(...SERVER, '--csr', cert);
    expect(wrong.zh).toMatch(/^jinbao: CSR 格式错误：收到的 \d+ 字节不是 PKCS#10 申请（PEM 块的标签是“CERTIFICATE”，而不是“CERTIFICATE REQUEST”）；应为 PEM/);
    expect(wrong.en).toMatch(/^jinbao: malformed CSR: got \d+ bytes that are not a PKCS#10 request \(a PEM block labelled "CERTIFICATE", not "CERTIFICATE REQUEST"\); want a PKCS#10 request/);
    const garbage = join(tmp.dir, 'garbage.csr');
    writeFileSync(garbage, 'hello world, this is not DER');
    const notDer = await refusedInBoth(...SERVER, '--csr', garbage);
    expect(notDer.zh).toContain('既不是 PEM“CERTIFICATE REQUEST”块，也不是 DER：首字节为 0x68，DER 申请以 0x30 开头');
  }, 60_000);
});

describe('the other pki commands\' refusals under --lang zh-CN', () => {
  it('revoke with both or neither of --serial and --ca, and an unknown revocation reason', async () => {
    expect((await refusedInBoth('pki', 'revoke', '--serial', '01', '--ca', 'infrastructure', '--reason', 'keyCompromise')).zh).toBe('jinbao: pki revoke：同时指定了 --serial 和 --ca，应恰好指定其中一个（--serial 用于证书，--ca 用于签发 CA）\n');
    expect((await refusedInBoth('pki', 'revoke', '--reason', 'keyCompromise')).zh).toBe('jinbao: pki revoke：既没有 --serial 也没有 --ca，应恰好指定其中一个（--serial 用于证书，--ca 用于签发 CA）\n');
    const reason = await refusedInBoth('pki', 'revoke', '--serial', '01', '--reason', 'lost');
    expect(reason.zh).toBe(`jinbao: 撤销原因：收到“lost”，应为以下之一：${REASON_LIST}\n`);
    expect(reason.en).toBe(`jinbao: revocation reason: got "lost", want one of ${REASON_LIST}\n`);
  }, 60_000);

  it('revoke a serial that is not hexadecimal or not in the store, init over a hierarchy, a malformed subject', async () => {
    const hex = await refusedInBoth('pki', 'revoke', '--serial', 'xyz', '--reason', 'keyCompromise');
    expect(hex.zh).toBe('jinbao: 序列号：收到“xyz”，应为十六进制数字（即“jinbao pki list”或“openssl x509 -serial”打印的形式）\n');
    expect(hex.en).toBe('jinbao: serial: got "xyz", want hexadecimal digits (as "jinbao pki list" or "openssl x509 -serial" print them)\n');
    const unknown = await refusedInBoth('pki', 'revoke', '--serial', 'abcdef', '--reason', 'keyCompromise');
    expect(unknown.zh).toBe('jinbao: 未知的序列号：收到“abcdef”，应为本状态库中某张数字证书的序列号（用 jinbao pki list 列出）\n');
    expect(unknown.en).toBe('jinbao: unknown serial: got "abcdef", want the serial of a certificate in this store (list them with: jinbao pki list)\n');
    const init = await refusedInBoth('pki', 'init');
    expect(init.zh).toMatch(/^jinbao: CA 体系已存在（根 CA [0-9a-f]+，ecdsa-p256，创建于 \S+）；未作任何更改。要新建 CA 体系，请使用另一个 --state 目录\n$/);
    expect(init.en).toMatch(/^jinbao: the CA hierarchy exists already \(root [0-9a-f]+, ecdsa-p256, created \S+\); nothing changed\. Use another --state directory for a new hierarchy\n$/);
    const subject = await refusedInBoth(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal,nonsense');
    expect(subject.zh).toContain('主体名称：“CN=a.440100.jinbao.internal,nonsense”中的“nonsense”有误');
    expect(subject.en).toContain('subject: got "nonsense" in "CN=a.440100.jinbao.internal,nonsense", want TYPE=VALUE pairs');
  }, 60_000);

  it('show an unknown serial, list by an unknown CA or site, cas --pem of an unknown CA', async () => {
    expect((await refusedInBoth('pki', 'show', 'abcdef')).zh).toBe('jinbao: 未知的序列号：收到“abcdef”，应为本状态库中某张证书的序列号（查看证书列表：jinbao pki list）\n');
    const ca = await refusedInBoth('pki', 'list', '--ca', 'nope');
    expect(ca.zh).toMatch(/^jinbao: --ca：收到“nope”，应为以下之一：root, /);
    expect(ca.en).toMatch(/^jinbao: --ca: got "nope", want one of root, /);
    expect((await refusedInBoth('pki', 'list', '--site', '999999')).zh).toBe('jinbao: --site：收到“999999”，应为资源清单中的站点（查看站点列表：jinbao inventory show）\n');
    expect((await refusedInBoth('pki', 'cas', '--pem', 'nope')).zh).toMatch(/^jinbao: --pem：收到“nope”，应为以下之一：root, /);
  }, 60_000);

  it('init with an unknown algorithm, half a PKCS#11 token, or a distribution base with a path', async () => {
    const other = join(tmp.dir, 'other');
    const run = (lang: string[], ...args: string[]) => runCli(['--state', other, ...lang, 'pki', 'init', ...args], PASS);
    for (const [args, text] of [
      [['--algorithm', 'dsa'], 'jinbao: 未知的算法：收到“dsa”，应为以下之一：'],
      [['--token-label', 'ca'], 'jinbao: PKCS#11：只指定了 --pkcs11-module 和 --token-label 中的一个，两者应同时指定\n'],
      [['--distribution-base', 'http://pki.example/crl'], 'jinbao: --distribution-base：收到“http://pki.example/crl”，应为不带路径的 http:// 地址'],
    ] as const) {
      const z = await run(['--lang', 'zh-CN'], ...args);
      expect(z.code).toBe(2);
      expect(z.stderr.startsWith(text), z.stderr).toBe(true);
      expect(englishLines(z.stderr)).toEqual([]);
      expect((await run([], ...args)).code).toBe(2);
    }
  }, 60_000);

  it('--json output of a refused issue is the same error in both languages: nothing on stdout, exit 2', async () => {
    const z = await zh(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal,C=US', '--json');
    const e = await en(...SERVER, '--generate', '--subject', 'CN=a.440100.jinbao.internal,C=US', '--json');
    expect([z.code, z.stdout]).toEqual([2, '']);
    expect([e.code, e.stdout]).toEqual([2, '']);
  }, 60_000);
});
