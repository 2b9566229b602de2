import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/testkit.js';
import { tempDir } from '../../../testkit/index.js';
import { loadFabric } from '../../../fabric/index.js';
import { openDatabase } from '../../../lib/sql/index.js';
import { initHierarchy, Issuer, PkiStore, toPem, type Issued } from '../../index.js';
import { hasOpenssl, openssl, opensslAsync, startResponderProcess } from './openssl.js';

const PASS = 'correct horse battery staple';
const ENV = { JINBAO_PKI_PASSPHRASE: PASS };

/** One real hierarchy for the whole file: init, a few server certificates and a delegated responder. */
describe('jinbao pki revoke / crl / ocsp serve', () => {
  let dir: string;
  let cleanup: () => void;
  let out: string;
  const files: Record<string, string> = {};
  const certs: Record<string, Issued> = {};
  const cli = (...args: string[]) => runCli(['--state', dir, 'pki', ...args], ENV);

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('jinbao-revocation-cli-'));
    out = join(dir, 'out');
    const state = await openDatabase(dir);
    try {
      const pki = await PkiStore.open(state, dir);
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
      const issuer = new Issuer(pki, loadFabric(), PASS);
      for (const name of ['alpha', 'bravo', 'charlie']) {
        const host = `${name}.440100.jinbao.internal`;
        certs[name] = await issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: `CN=${host}` }, dns: [host] });
      }
      certs.ocsp = await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'infrastructure', generate: { subject: 'CN=OCSP infrastructure' } });
      certs.stranger = await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'ministry-staff', generate: { subject: 'CN=OCSP ministry-staff' } });
      for (const [name, c] of Object.entries(certs)) {
        const certFile = join(dir, `${name}.pem`);
        const keyFile = join(dir, `${name}.key.pem`);
        writeFileSync(certFile, toPem(c.certificateDer));
        writeFileSync(keyFile, c.key!.exportPkcs8());
        files[name] = certFile;
        files[`${name}.key`] = keyFile;
      }
      const chain = certs.alpha!.chainDer;
      files.infra = join(dir, 'infrastructure.pem');
      writeFileSync(files.infra, toPem(chain[0]!));
      files.root = join(dir, 'root.pem');
      writeFileSync(files.root, toPem(chain[chain.length - 1]!));
    } finally {
      await state.close();
    }
  });
  afterAll(() => cleanup());

  it('GIVEN an active certificate WHEN it is revoked THEN the command says what happened and what to publish next', async () => {
    const r = await cli('revoke', '--serial', certs.alpha!.record.serial, '--reason', 'keyCompromise');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`revoked ${certs.alpha!.record.serial} (CA infrastructure, keyCompromise, `);
    expect(r.stdout).toContain('its certificate names CRL partition 0: publish it with: jinbao pki crl --ca infrastructure --partition 0 --delta');
  });

  it('GIVEN a revoked certificate WHEN it is revoked again THEN it is refused with exit 2 and "already revoked"', async () => {
    const r = await cli('revoke', '--serial', certs.alpha!.record.serial.toUpperCase(), '--reason', 'superseded');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`certificate ${certs.alpha!.record.serial} is already revoked`);
  });

  it('GIVEN a serial no certificate has WHEN it is revoked THEN it is refused with exit 2', async () => {
    const r = await cli('revoke', '--serial', '0badc0ffee', '--reason', 'superseded');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown serial: got "0badc0ffee"');
  });

  it('GIVEN a reason RFC 5280 does not define THEN it is refused with the list of reasons', async () => {
    const r = await cli('revoke', '--serial', certs.bravo!.record.serial, '--reason', 'lostIt');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('revocation reason: got "lostIt", want one of unspecified, keyCompromise');
  });

  it.skipIf(!hasOpenssl)('GIVEN a revocation WHEN a full CRL is cut THEN openssl verify -crl_check refuses the revoked certificate and accepts the others', async () => {
    const r = await cli('crl', '--ca', 'infrastructure', '--out', out, '--json');
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { number: number; kind: string; entries: number; files: string[] };
    expect(result).toMatchObject({ number: 1, kind: 'full', entries: 1 });
    expect(result.files).toEqual([join(out, 'infrastructure.crl'), join(out, 'infrastructure.crl.pem')]);
    const verify = (cert: string) => openssl(['verify', '-crl_check', '-CAfile', files.root!, '-untrusted', files.infra!, '-CRLfile', join(out, 'infrastructure.crl.pem'), cert]);
    const revoked = verify(files.alpha!);
    expect(revoked.status).not.toBe(0);
    expect(revoked.out).toContain('certificate revoked');
    expect(verify(files.bravo!)).toMatchObject({ status: 0 });
    expect(openssl(['crl', '-inform', 'DER', '-in', join(out, 'infrastructure.crl'), '-noout', '-CAfile', files.infra!]).out).toContain('verify OK');
  });

  it.skipIf(!hasOpenssl)('GIVEN a later revocation WHEN a delta CRL is cut THEN it names its base and openssl -use_deltas applies it', async () => {
    expect((await cli('revoke', '--serial', certs.bravo!.record.serial, '--reason', 'superseded')).code).toBe(0);
    const r = await cli('crl', '--ca', 'infrastructure', '--delta', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('delta CRL 2 over full CRL 1 of infrastructure: 1 revoked');
    const both = join(dir, 'both.pem');
    writeFileSync(both, readFileSync(join(out, 'infrastructure.crl.pem'), 'utf8') + readFileSync(join(out, 'infrastructure-delta.crl.pem'), 'utf8'));
    const v = openssl(['verify', '-crl_check', '-use_deltas', '-CAfile', files.root!, '-untrusted', files.infra!, '-CRLfile', both, files.bravo!]);
    expect(v.status).not.toBe(0);
    expect(v.out).toContain('certificate revoked');
    const noDelta = openssl(['verify', '-crl_check', '-CAfile', files.root!, '-untrusted', files.infra!, '-CRLfile', join(out, 'infrastructure.crl.pem'), files.bravo!]);
    expect(noDelta.status).toBe(0);
  });

  it.skipIf(!hasOpenssl)('GIVEN --partition all WHEN CRLs are cut THEN the complete CRL and every partition are written as served, and --json lists the partitions with their certificates and revocations', async () => {
    const r = await cli('crl', '--ca', 'infrastructure', '--partition', 'all', '--out', out, '--json');
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { crls: { partition: number | null; url: string; entries: number; files: string[] }[]; partitions: unknown[]; partitionSize: number; expiredEntries: string };
    expect(result.crls.map((c) => [c.partition, c.url, c.entries])).toEqual([
      [null, 'http://pki.jinbao.internal/crl/infrastructure.crl', 2],
      [0, 'http://pki.jinbao.internal/crl/infrastructure/0.crl', 2],
    ]);
    expect(result.crls[1]!.files).toEqual([join(out, 'infrastructure', '0.crl'), join(out, 'infrastructure', '0.crl.pem')]);
    // The OCSP responder certificate has no CRL distribution point: it is on the complete CRL only.
    expect(result.partitions).toEqual([
      { partition: null, certificates: 1, revoked: 0 },
      { partition: 0, certificates: 3, revoked: 2 },
    ]);
    expect(result).toMatchObject({ partitionSize: 100000, expiredEntries: 'drop' });
    const verify = (cert: string) => openssl(['verify', '-crl_check', '-CAfile', files.root!, '-untrusted', files.infra!, '-CRLfile', join(out, 'infrastructure', '0.crl.pem'), cert]);
    expect(verify(files.charlie!)).toMatchObject({ status: 0 });
    expect(verify(files.alpha!).out).toContain('certificate revoked');
  });

  it('GIVEN one partition WHEN cut THEN the human output names it and lists the partitions; new settings are recorded and shown', async () => {
    const r = await cli('crl', '--ca', 'infrastructure', '--partition', '0', '--expired-entries', 'keep', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/full CRL \d+ of infrastructure partition 0: 2 revoked/);
    expect(r.stdout).toContain('CRL partitions hold 100000 certificates each; expired entries: keep');
    expect(r.stdout).toContain('  partition 0: 3 issued, 2 revoked');
    expect(r.stdout).toContain('  issued before partitions (on the complete CRL only): 1 issued, 0 revoked');
    expect((await cli('crl', '--ca', 'infrastructure', '--partition', '0', '--expired-entries', 'drop', '--out', out)).code).toBe(0);
  });

  it('GIVEN a bad --partition, --partition-size or --expired-entries THEN crl refuses it, saying what it wants', async () => {
    const partition = await cli('crl', '--ca', 'infrastructure', '--partition', 'first', '--out', out);
    expect(partition.code).toBe(2);
    expect(partition.stderr).toContain('--partition: got "first"');
    const size = await cli('crl', '--ca', 'infrastructure', '--partition-size', '0', '--out', out);
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--partition-size: got "0"');
    const expired = await cli('crl', '--ca', 'infrastructure', '--expired-entries', 'forever', '--out', out);
    expect(expired.code).toBe(2);
    expect(expired.stderr).toContain('--expired-entries: got "forever", want one of drop, keep');
    const root = await cli('crl', '--ca', 'root', '--partition', '0', '--out', out);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('--partition: got 0 for CA "root", which has no partitions');
  });

  it('GIVEN a malformed --next-update THEN crl refuses it before touching the store', async () => {
    const r = await cli('crl', '--ca', 'infrastructure', '--next-update', 'soon', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--next-update: got "soon", want a positive duration such as 90s, 30m, 12h or 7d');
  });

  it('GIVEN --distribution-base other than the hierarchy\'s THEN crl refuses it (certificates and CRLs name one host); the hierarchy\'s own is accepted', async () => {
    const r = await cli('crl', '--ca', 'infrastructure', '--out', out, '--distribution-base', 'http://elsewhere.example');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--distribution-base: got "http://elsewhere.example", want this hierarchy\'s own base "http://pki.jinbao.internal" (set by pki init)');
    const same = await cli('crl', '--ca', 'root', '--out', out, '--distribution-base', 'http://pki.jinbao.internal/');
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
  });

  it('GIVEN pki init --distribution-base THEN every CA certificate below the root names the root\'s URLs there; a base with a path is refused before anything is created', async () => {
    const { dir: other, cleanup: done } = tempDir('jinbao-distribution-base-');
    try {
      const bad = await runCli(['--state', other, 'pki', 'init', '--distribution-base', 'http://pki.example/crls'], ENV);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--distribution-base: got "http://pki.example/crls", want an http:// URL with no path');
      expect((await runCli(['--state', other, 'pki', 'cas', '--json'], ENV)).stdout).not.toContain('root');
      expect((await runCli(['--state', other, 'pki', 'init', '--distribution-base', 'http://pki.example:8080'], ENV)).code).toBe(0);
      const pem = await runCli(['--state', other, 'pki', 'cas', '--pem', 'infrastructure'], ENV);
      const file = join(other, 'infrastructure.pem');
      writeFileSync(file, pem.stdout);
      const text = openssl(['x509', '-in', file, '-noout', '-ext', 'crlDistributionPoints,authorityInfoAccess']).out;
      expect(text).toContain('URI:http://pki.example:8080/crl/root.crl');
      expect(text).toContain('OCSP - URI:http://pki.example:8080/ocsp/root');
      expect(text).toContain('CA Issuers - URI:http://pki.example:8080/ca/root.crt');
    } finally {
      done();
    }
  });

  it('GIVEN an unknown CA THEN crl names the CAs there are', async () => {
    const r = await cli('crl', '--ca', 'nowhere', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown CA: got "nowhere", want one of root, ');
  });

  describe('ocsp serve refuses a responder identity that cannot work', () => {
    const serve = (...args: string[]) => cli('ocsp', 'serve', '--port', '0', '--ca', 'infrastructure', ...args);

    it('GIVEN a responder certificate of another CA THEN it names both issuers', async () => {
      const r = await serve('--responder-cert', files.stranger!, '--responder-key', files['stranger.key']!);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/got a certificate issued by ".*Ministry Staff.*", want one issued by CA "infrastructure"/i);
    });

    it('GIVEN a certificate without id-kp-OCSPSigning THEN it asks for the ocsp-signing profile', async () => {
      const r = await serve('--responder-cert', files.charlie!, '--responder-key', files['charlie.key']!);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('got a certificate without the OCSP-signing extended key usage (id-kp-OCSPSigning), want one from the ocsp-signing profile');
    });

    it('GIVEN the key of another certificate THEN it says the key does not belong', async () => {
      const r = await serve('--responder-cert', files.ocsp!, '--responder-key', files['charlie.key']!);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`got a key that does not belong to ${files.ocsp}`);
    });

    it('GIVEN a missing file or a bad port THEN it says which flag and what it wants', async () => {
      const missing = await serve('--responder-cert', join(dir, 'nope.pem'), '--responder-key', files['ocsp.key']!);
      expect(missing.stderr).toContain(`--responder-cert: cannot read ${join(dir, 'nope.pem')} (ENOENT)`);
      const port = await cli('ocsp', 'serve', '--port', '70000', '--ca', 'infrastructure', '--responder-cert', files.ocsp!, '--responder-key', files['ocsp.key']!);
      expect(port.code).toBe(2);
      expect(port.stderr).toContain('--port: got "70000", want a TCP port from 0 to 65535');
    });
  });

  it.skipIf(!hasOpenssl)('GIVEN the responder running as its own process THEN openssl ocsp gets revoked and good answers, a revocation made meanwhile by another process shows at once, and SIGTERM stops it', async () => {
    const responder = await startResponderProcess(dir, ['--ca', 'infrastructure', '--responder-cert', files.ocsp!, '--responder-key', files['ocsp.key']!], ENV);
    const url = responder.url;
    let code: number | null;
    try {
      const ask = (cert: string, ...extra: string[]) => opensslAsync(['ocsp', '-issuer', files.infra!, '-cert', cert, '-url', url, '-CAfile', files.root!, '-verify_other', files.infra!, ...extra]);
      const revoked = await ask(files.alpha!);
      expect(revoked.out).toContain('Response verify OK');
      expect(revoked.out).toContain(`${files.alpha}: revoked`);
      expect((await ask(files.charlie!, '-no_nonce')).out).toContain(`${files.charlie}: good`);
      expect((await ask(files.charlie!, '-no_nonce')).out).toContain(`${files.charlie}: good`);
      // This process revokes; the responder process must not answer from its cache afterwards.
      expect((await cli('revoke', '--serial', certs.charlie!.record.serial, '--reason', 'cessationOfOperation')).code).toBe(0);
      const after = await ask(files.charlie!, '-no_nonce');
      expect(after.out).toContain(`${files.charlie}: revoked`);
      expect(after.out).toContain('Reason: cessationOfOperation');
    } finally {
      code = await responder.stop();
    }
    expect(code).toBe(0);
    expect(responder.output().stdout).toContain('stopped after 4 request(s): 1 from cache, 0 malformed, 0 internal error(s)');
  });
});
