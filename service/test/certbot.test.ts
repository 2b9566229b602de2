/**
 * A real ACME client against a real `jinbao serve` process: certbot obtains (http-01, standalone),
 * renews and revokes; openssl verifies each certificate with its chain and reads the OCSP answers
 * and CRLs the service publishes. certbot trusts the jinbao root through REQUESTS_CA_BUNDLE.
 * dns-01 runs against a real DNS server (dnsmasq on a loopback port, `--acme-dns-server`): certbot's
 * manual auth hook writes the TXT record into its configuration and restarts it.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PASS = 'correct horse battery staple';
const NAME = 'app.s440100.jinbao.internal';
const DNS_NAME = 'dns.s440100.jinbao.internal';
const WRONG_DNS_NAME = 'wrong.s440100.jinbao.internal';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string }> {
  return new Promise((done) => execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 180_000 }, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

describe('certbot against jinbao serve', () => {
  const { dir, cleanup } = tempDir('jinbao-certbot-');
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.json');
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const g = ['--state', state, '--inventory', inventory];
  let serve: ChildProcess;
  let stderr = '';
  let port: number;
  let httpPort: number;
  let eab: { kid: string; hmacKey: string };
  let dnsPort: number;
  const dnsPid = join(dir, 'dnsmasq.pid');
  const cb = () => ['--config-dir', join(dir, 'cb', 'config'), '--work-dir', join(dir, 'cb', 'work'), '--logs-dir', join(dir, 'cb', 'logs'), '--non-interactive'];
  const live = join(dir, 'cb', 'config', 'live', NAME);
  const certbotEnv = () => ({ REQUESTS_CA_BUNDLE: join(dir, 'root.pem') });

  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
    const root = await runCli([...g, 'pki', 'cas', '--pem', 'root']);
    writeFileSync(join(dir, 'root.pem'), root.stdout);
    const created = await runCli([...g, 'acme', 'eab', 'create', '--site', '440100', '--json'], env);
    eab = JSON.parse(created.stdout) as { kid: string; hmacKey: string };
    writeFileSync(join(dir, 'hosts'), `127.0.0.1 ${NAME}\n`);
    port = await freePort();
    httpPort = await freePort();
    dnsPort = await freePort();
    await startDnsmasq();
    serve = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', ...g, 'serve', '--listen', `127.0.0.1:${port}`, '--acme-hosts', join(dir, 'hosts'), '--acme-http-port', String(httpPort), '--acme-dns-server', `127.0.0.1:${dnsPort}`], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    serve.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    let stdout = '';
    serve.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    await waitUntil(() => stdout.includes('listening on'), 'jinbao serve to listen', { timeoutMs: 60_000 });
  });

  afterAll(async () => {
    if (existsSync(dnsPid)) spawnSync('sh', ['-c', `kill "$(cat '${dnsPid}')"`]);
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 20_000 });
    }
    cleanup();
  });

  const server = () => `https://127.0.0.1:${port}/acme/directory`;

  /**
   * dnsmasq answering only from its configuration file, on 127.0.0.1:dnsPort; the auth hooks
   * append a TXT record to that file and restart it (dnsmasq reads TXT records only at start).
   */
  async function startDnsmasq(): Promise<void> {
    const conf = join(dir, 'dnsmasq.conf');
    writeFileSync(conf, [`port=${dnsPort}`, 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', `pid-file=${dnsPid}`, ''].join('\n'));
    const hook = (value: string) =>
      [
        '#!/bin/sh',
        'set -e',
        `printf 'txt-record=_acme-challenge.%s,%s\\n' "$CERTBOT_DOMAIN" "${value}" >> '${conf}'`,
        `pid="$(cat '${dnsPid}')"`,
        'kill "$pid"',
        'while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done',
        `dnsmasq --conf-file='${conf}'`,
        '',
      ].join('\n');
    writeFileSync(join(dir, 'dns-hook.sh'), hook('$CERTBOT_VALIDATION'));
    writeFileSync(join(dir, 'wrong-dns-hook.sh'), hook('not-the-key-authorization-digest'));
    for (const f of ['dns-hook.sh', 'wrong-dns-hook.sh']) chmodSync(join(dir, f), 0o755);
    expect(spawnSync('dnsmasq', [`--conf-file=${conf}`], { encoding: 'utf8' }).status).toBe(0);
    await waitUntil(() => existsSync(dnsPid), 'dnsmasq to start');
  }

  const dnsCertonly = (name: string, hook: string) =>
    run('certbot', ['certonly', ...cb(), '--manual', '--preferred-challenges', 'dns', '--manual-auth-hook', join(dir, hook), '-d', name, '--server', server(), '--eab-kid', eab.kid, '--eab-hmac-key', eab.hmacKey, '--agree-tos', '-m', 'ops@example.org'], certbotEnv());

  function verify(certFile: string, chainFile: string): string {
    const r = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'root.pem'), '-untrusted', chainFile, certFile], { encoding: 'utf8' });
    return r.stdout + r.stderr;
  }

  it('obtains a certificate with http-01 (standalone) and EAB; openssl verifies it and OCSP answers good', async () => {
    const r = await run('certbot', ['certonly', ...cb(), '--standalone', '--http-01-port', String(httpPort), '--http-01-address', '127.0.0.1', '-d', NAME, '--server', server(), '--eab-kid', eab.kid, '--eab-hmac-key', eab.hmacKey, '--agree-tos', '-m', 'ops@example.org'], certbotEnv());
    expect(r.out).toContain('Successfully received certificate');
    expect(verify(join(live, 'cert.pem'), join(live, 'chain.pem'))).toContain(': OK');
    const o = await run('openssl', ['ocsp', '-issuer', join(live, 'chain.pem'), '-cert', join(live, 'cert.pem'), '-url', `https://127.0.0.1:${port}/ocsp`, '-CAfile', join(dir, 'root.pem'), '-verify_other', join(live, 'chain.pem')]);
    expect(o.out).toContain('Response verify OK');
    expect(o.out).toMatch(/cert\.pem: good/);
  });

  it('renews it: a second certificate, verified too', async () => {
    const r = await run('certbot', ['renew', ...cb(), '--force-renewal', '--no-random-sleep-on-renew'], certbotEnv());
    expect(r.out).toContain('all renewals succeeded');
    const archive = join(dir, 'cb', 'config', 'archive', NAME);
    expect(readdirSync(archive).filter((n) => n.startsWith('cert')).sort()).toEqual(['cert1.pem', 'cert2.pem']);
    expect(verify(join(archive, 'cert2.pem'), join(archive, 'chain2.pem'))).toContain(': OK');
    expect(readFileSync(join(archive, 'cert1.pem'), 'utf8')).not.toBe(readFileSync(join(archive, 'cert2.pem'), 'utf8'));
  });

  it('revokes it: OCSP answers revoked and the CRL lists it', async () => {
    const r = await run('certbot', ['revoke', ...cb(), '--server', server(), '--cert-path', join(live, 'cert.pem'), '--reason', 'keycompromise', '--no-delete-after-revoke'], certbotEnv());
    expect(r.out).toContain('successfully revoked');
    const o = await run('openssl', ['ocsp', '-issuer', join(live, 'chain.pem'), '-cert', join(live, 'cert.pem'), '-url', `https://127.0.0.1:${port}/ocsp/infrastructure`, '-CAfile', join(dir, 'root.pem'), '-verify_other', join(live, 'chain.pem')]);
    expect(o.out).toMatch(/cert\.pem: revoked/);
    const crlFile = join(dir, 'infrastructure.crl');
    const fetched = await run('curl', ['-sS', '--cacert', join(dir, 'root.pem'), '-o', crlFile, `https://127.0.0.1:${port}/crl/infrastructure.crl`]);
    expect(fetched.code).toBe(0);
    const bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(join(dir, 'root.pem'), 'utf8') + readFileSync(join(live, 'chain.pem'), 'utf8'));
    const text = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text', '-CAfile', bundle]);
    expect(text.out).toContain('verify OK');
    const serial = spawnSync('openssl', ['x509', '-in', join(live, 'cert.pem'), '-noout', '-serial'], { encoding: 'utf8' }).stdout.trim().split('=')[1]!;
    expect(text.out).toContain(serial.replace(/^0+/, ''));
    expect(text.out).toContain('Key Compromise');
  });

  it('obtains a certificate over dns-01: the manual auth hook puts the TXT record into dnsmasq, which the service asks', async () => {
    const r = await dnsCertonly(DNS_NAME, 'dns-hook.sh');
    expect(r.out).toContain('Successfully received certificate');
    const dnsLive = join(dir, 'cb', 'config', 'live', DNS_NAME);
    expect(verify(join(dnsLive, 'cert.pem'), join(dnsLive, 'chain.pem'))).toContain(': OK');
  });

  it('refuses dns-01 when the TXT record holds something else: incorrectResponse, no certificate', async () => {
    const r = await dnsCertonly(WRONG_DNS_NAME, 'wrong-dns-hook.sh');
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('incorrectResponse');
    expect(r.out).toContain(`_acme-challenge.${WRONG_DNS_NAME}`);
    expect(existsSync(join(dir, 'cb', 'config', 'live', WRONG_DNS_NAME))).toBe(false);
  });

  it('refuses dns-01 when the DNS server has no TXT record for the name: dns', async () => {
    const c = await run('certbot', ['certonly', ...cb(), '--manual', '--preferred-challenges', 'dns', '--manual-auth-hook', 'true', '-d', 'none.s440100.jinbao.internal', '--server', server(), '--agree-tos', '-m', 'ops@example.org'], certbotEnv());
    expect(c.code).not.toBe(0);
    expect(c.out).toMatch(/Type:\s+dns/);
    expect(c.out).toContain('no TXT record at _acme-challenge.none.s440100.jinbao.internal');
  });

  it('stops on SIGTERM after draining, having logged every request as a JSON line', async () => {
    serve.kill('SIGTERM');
    await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 20_000 });
    expect(serve.exitCode).toBe(0);
    const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.path === '/acme/new-account' && l.status === 201)).toBe(true);
    expect(lines.some((l) => l.msg === 'shutting down: draining requests and validations')).toBe(true);
    expect(stderr).not.toMatch(/\s+at \S+ \(/);
  });
});
