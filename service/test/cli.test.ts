import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { smallInventory, tempDir } from '../../testkit/index.js';

const env = { JINBAO_PKI_PASSPHRASE: 'correct horse battery staple' };

describe('jinbao serve, acme eab and pki cas --pem on the command line', () => {
  const { dir, cleanup } = tempDir('jinbao-serve-cli-');
  const inventory = join(dir, 'inventory.json');
  const g = ['--state', join(dir, 'state'), '--inventory', inventory];
  beforeAll(() => writeFileSync(inventory, JSON.stringify(smallInventory())));
  afterAll(() => cleanup());

  it('GIVEN no CA hierarchy WHEN serve starts THEN exit 2 saying how to create one', async () => {
    const r = await runCli([...g, 'serve', '--listen', '127.0.0.1:1'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no CA hierarchy in .*: create one with jinbao pki init \(or jinbao up\) before jinbao serve/);
  });

  it('bad serve options → exit 2, each named', async () => {
    const cases: [string[], RegExp][] = [
      [['--listen', 'nonsense'], /--listen: got "nonsense", want HOST:PORT such as 127.0.0.1:8443/],
      [['--listen', '127.0.0.1:70000'], /--listen port: got "70000", want a TCP port from 0 to 65535/],
      [['--tls-cert', 'x.pem'], /TLS: got only one of --tls-cert and --tls-key, want both or neither/],
      [['--validity-days', '400'], /--validity-days: got "400", want a whole number of days from 1 to 397/],
      [['--rate-limit-orders', '0'], /--rate-limit-orders: got "0", want a number of requests a minute from 1 to 1000000/],
      [['--acme-hosts', join(dir, 'missing')], /--acme-hosts: cannot read .*missing \(ENOENT\)/],
      [['--listen', '127.0.0.1:0'], /--listen with port 0 needs --public-url/],
      [['--acme-dns-server', 'dns.example:53'], /--acme-dns-server: got "dns.example:53", want an IP address with an optional port, such as 192.0.2.53, 127.0.0.1:5353 or \[::1\]:5353/],
      [['--acme-dns-server', '127.0.0.1:99999'], /--acme-dns-server port: got "99999", want a TCP port from 1 to 65535/],
      [['--acme-tls-port', '0'], /--acme-tls-port: got "0", want a TCP port from 1 to 65535/],
      [['--max-failed-logins', '0'], /--max-failed-logins: got "0", want a whole number from 1 to 100/],
      [['--session-timeout', '15'], /--session-timeout: got "15"/],
      [['--session-lifetime', 'forever'], /--session-lifetime: got "forever"/],
      [['--session-timeout', '2h', '--session-lifetime', '1h'], /--session-timeout: got 2h, longer than --session-lifetime 1h; want the idle timeout at most the lifetime/],
    ];
    expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
    for (const [args, message] of cases) {
      const r = await runCli([...g, 'serve', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    writeFileSync(join(dir, 'hosts'), 'not-an-address name\n');
    const hosts = await runCli([...g, 'serve', '--acme-hosts', join(dir, 'hosts')], env);
    expect(hosts.stderr).toMatch(/--acme-hosts .*hosts:1: got "not-an-address name", want an IP address followed by names/);
    const url = await runCli([...g, 'serve', '--listen', '127.0.0.1:0', '--public-url', 'http://x:1'], env);
    expect(url.stderr).toMatch(/--public-url: got "http:\/\/x:1", want an https:\/\/ URL with no path/);
    // the same refusals in Chinese under --lang zh-CN
    const zhUrl = await runCli([...g, '--lang', 'zh-CN', 'serve', '--listen', '127.0.0.1:0', '--public-url', 'http://x:1'], env);
    expect([zhUrl.code, zhUrl.stderr]).toEqual([2, 'jinbao: --public-url：收到“http://x:1”，应为不带路径的 https:// 地址，例如 https://pki.jinbao.internal:8443\n']);
    const zhHosts = await runCli([...g, '--lang', 'zh-CN', 'serve', '--acme-hosts', join(dir, 'hosts')], env);
    expect(zhHosts.code).toBe(2);
    expect(zhHosts.stderr).toContain('第 1 行：收到“not-an-address name”，应为一个 IP 地址后跟域名');
  });

  it('acme eab create prints the key id, HMAC key and allowed names once; list never shows the HMAC key; both are audited or refused with exit 2', async () => {
    const r = await runCli([...g, 'acme', 'eab', 'create', '--site', '440100', '--application', 'employee-insurance', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const key = JSON.parse(r.stdout) as { kid: string; hmacKey: string; allowedIdentifiers: string[]; application: string };
    expect(key.kid).toMatch(/^eab-440100-/);
    expect(Buffer.from(key.hmacKey, 'base64url')).toHaveLength(32);
    expect(key.allowedIdentifiers).toEqual(['s440100.jinbao.internal', '*.s440100.jinbao.internal', '440100.jinbao.internal', '*.440100.jinbao.internal']);
    const list = await runCli([...g, 'acme', 'eab', 'list', '--json']);
    expect(list.stdout).toContain(key.kid);
    expect(list.stdout).not.toContain(key.hmacKey);
    const audit = await runCli([...g, 'audit', 'export', '--action', 'acme.eab']);
    expect(audit.code).toBe(0);
    const entries = audit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { action: string; subject: string; details: Record<string, unknown> });
    expect(entries.find((e) => e.action === 'acme.eab.create')).toMatchObject({ subject: key.kid, details: { site: '440100', application: 'employee-insurance' } });
    expect(audit.stdout).not.toContain(key.hmacKey);
    const unknown = await runCli([...g, 'acme', 'eab', 'create', '--site', '999999'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--site: got "999999", want a site of the inventory/);
    const app = await runCli([...g, 'acme', 'eab', 'create', '--site', '440100', '--application', 'nope'], env);
    expect(app.code).toBe(2);
    expect(app.stderr).toMatch(/--application: got "nope", want one of .* \(the business domains site 440100 hosts\)/);
  });

  it('pki cas --pem ID prints that CA\'s certificate; an unknown id is exit 2', async () => {
    const r = await runCli([...g, 'pki', 'cas', '--pem', 'root']);
    expect(r.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    const bad = await runCli([...g, 'pki', 'cas', '--pem', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--pem: got "nope", want one of root, infrastructure, ministry-staff/);
  });
});
