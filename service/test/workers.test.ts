/**
 * `jinbao serve --workers 2` as a real process: every worker answers OCSP for every CA with
 * signatures OpenSSL verifies, nonce or not, and a revocation made by another process is seen by
 * all of them at once.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { LocalOpsContext } from '../../orchestration/index.js';
import { Issuer, PkiStore, toPem } from '../../pki/index.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PASS = 'correct horse battery staple';

function openssl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => execFile('openssl', args, { timeout: 60_000 }, (err, stdout, stderr) => done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

describe('jinbao serve --workers 2', () => {
  const { dir, cleanup } = tempDir('jinbao-serve-workers-');
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.json');
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const g = ['--state', state, '--inventory', inventory];
  const files: Record<string, string> = {};
  const serials: Record<string, string> = {};
  let serve: ChildProcess;
  let stdout = '';
  let stderr = '';
  let base = '';

  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    const httpPort = await freePort();
    base = `http://127.0.0.1:${httpPort}`;
    expect((await runCli([...g, 'pki', 'init', '--distribution-base', base], env)).code).toBe(0);
    const ctx = new LocalOpsContext({ stateDir: state, inventory });
    try {
      const pki = await PkiStore.open(await ctx.database(), state);
      const issuer = new Issuer(pki, ctx.fabric(), PASS);
      const made = {
        server: await issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=app.440100.jinbao.internal' }, dns: ['app.440100.jinbao.internal'] }),
        staff: await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'ministry-staff', generate: { subject: 'CN=OCSP ministry-staff' } }),
      };
      for (const [name, c] of Object.entries(made)) {
        files[name] = join(dir, `${name}.pem`);
        files[`${name}-ca`] = join(dir, `${name}-ca.pem`);
        writeFileSync(files[name]!, toPem(c.certificateDer));
        writeFileSync(files[`${name}-ca`]!, toPem(c.chainDer[0]!));
        serials[name] = c.record.serial;
      }
      files.root = join(dir, 'root.pem');
      writeFileSync(files.root, toPem(made.server.chainDer[made.server.chainDer.length - 1]!));
    } finally {
      await ctx.close();
    }
    const port = await freePort();
    // The compiled CLI, as users run it (npm test builds dist/ first).
    expect(existsSync(join(ROOT, 'dist/bin/jinbao.js')), 'this test runs dist/: npx tsc -p tsconfig.json').toBe(true);
    serve = spawn(process.execPath, ['dist/bin/jinbao.js', ...g, 'serve', '--workers', '2', '--listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serve.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    serve.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitUntil(() => stdout.includes('listening on') || serve.exitCode !== null, 'jinbao serve to listen', { timeoutMs: 90_000 });
    // The worker that runs the ACME expiry sweep says so on stderr once it has started.
    await waitUntil(() => stderr.includes('"this worker runs the ACME expiry sweep"') || serve.exitCode !== null, 'a worker to take the ACME expiry sweep', { timeoutMs: 30_000 });
  }, 120_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 30_000 });
    }
    cleanup();
  });

  const ask = (name: 'server' | 'staff', ca: string, nonce: boolean) =>
    openssl(['ocsp', '-issuer', files[`${name}-ca`]!, '-cert', files[name]!, '-url', `${base}/ocsp/${ca}`, '-CAfile', files.root!, '-verify_other', files[`${name}-ca`]!, ...(nonce ? [] : ['-no_nonce'])]);

  it('GIVEN two workers THEN the banner names them and the plain-HTTP listener', () => {
    expect(stdout, stderr).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+ \(pid \d+, 2 worker processes\)/);
    expect(stdout).toContain(`revocation data over plain HTTP on ${base}`);
    // the periodic ACME expiry sweep runs in one worker, not in every process
    expect(stderr.split('\n').filter((l) => l.includes('"this worker runs the ACME expiry sweep"'))).toHaveLength(1);
  });

  it('GIVEN requests spread over the workers THEN every answer for either CA verifies, with a nonce and without; a revocation by another process is seen by every worker', async () => {
    for (let i = 0; i < 6; i++) {
      for (const [name, ca] of [['server', 'infrastructure'], ['staff', 'ministry-staff']] as const) {
        const r = await ask(name, ca, i % 2 === 0);
        expect(r.out, `${name} #${i}`).toContain('Response verify OK');
        expect(r.out).toMatch(new RegExp(`${name}\\.pem: good`));
        if (i % 2 === 0) expect(r.out).not.toContain('WARNING: no nonce in response');
      }
    }
    expect((await runCli([...g, 'pki', 'revoke', '--serial', serials.staff!, '--reason', 'keyCompromise'], env)).code).toBe(0);
    for (let i = 0; i < 6; i++) {
      const r = await ask('staff', 'ministry-staff', i % 2 === 0);
      expect(r.out).toContain('Response verify OK');
      expect(r.out, `after revocation #${i}`).toMatch(/staff\.pem: revoked/);
    }
  });

  it('GIVEN the OCSP requests above, answered by either worker, THEN /metrics (from whichever worker) counts all 18', async () => {
    const https = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    const text = await new Promise<string>((done, fail) =>
      get(`${https}/metrics`, { rejectUnauthorized: false }, (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => done(body));
      }).on('error', fail),
    );
    expect(text).not.toContain("this worker's metrics only");
    const ocsp = text.split('\n').filter((l) => l.startsWith('jinbao_serve_requests_total{route="ocsp"'));
    expect(ocsp.reduce((n, l) => n + Number(l.split(' ').pop()), 0), ocsp.join('\n')).toBe(18);
  });

  it('GIVEN SIGTERM THEN the primary stops the workers and exits 0', async () => {
    serve.kill('SIGTERM');
    await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 30_000 });
    expect(serve.exitCode).toBe(0);
    expect(stdout).toContain('jinbao serve stopped');
  });
});
