/**
 * `jinbao serve --workers 2` as a real process (compiled, dist/): one client address over its
 * request limit gets the documented burst from the serve as a whole, not a burst from each worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PASS = 'correct horse battery staple';
/** 8 a minute: a burst of 2, then one token every 7.5 s, far longer than the requests below take. */
const PER_MINUTE = 8;
const BURST = 2;

/** One POST on a connection of its own (no keep-alive), so the workers' shared socket hands them out. */
function post(url: string): Promise<{ status: number; retryAfter?: string; body: string }> {
  return new Promise((done, fail) => {
    const req = request(url, { method: 'POST', agent: false, rejectUnauthorized: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => done({ status: res.statusCode!, body, ...(res.headers['retry-after'] !== undefined ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
    });
    req.on('error', fail);
    req.setTimeout(30_000, () => req.destroy(new Error(`POST ${url}: no answer in 30 s`)));
    req.end('{}');
  });
}

describe('jinbao serve --workers 2 with --rate-limit-address', () => {
  const { dir, cleanup } = tempDir('jinbao-serve-workers-limit-');
  const state = join(dir, 'state');
  const inventory = join(dir, 'inventory.json');
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const g = ['--state', state, '--inventory', inventory];
  let serve: ChildProcess;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    expect(existsSync(join(ROOT, 'dist/bin/jinbao.js')), 'this test runs dist/: npx tsc -p tsconfig.json').toBe(true);
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
    const port = await freePort();
    serve = spawn(process.execPath, ['dist/bin/jinbao.js', ...g, 'serve', '--workers', '2', '--listen', `127.0.0.1:${port}`, '--rate-limit-address', String(PER_MINUTE)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    serve.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    serve.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await waitUntil(() => stdout.includes('listening on') || serve.exitCode !== null, 'jinbao serve to listen', { timeoutMs: 90_000 });
  }, 120_000);

  afterAll(async () => {
    if (serve && serve.exitCode === null) {
      serve.kill('SIGTERM');
      await waitUntil(() => serve.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 30_000 });
    }
    cleanup();
  });

  it('GIVEN 12 POSTs from one address over fresh connections, 4 at a time THEN exactly the burst is served and the rest are rateLimited with Retry-After', async () => {
    expect(stdout, stderr).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+ \(pid \d+, 2 worker processes\)/);
    const https = /listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
    const answers: Awaited<ReturnType<typeof post>>[] = [];
    const t0 = Date.now();
    for (let wave = 0; wave < 3; wave++) answers.push(...(await Promise.all(Array.from({ length: 4 }, () => post(`${https}/acme/new-account`)))));
    const seconds = (Date.now() - t0) / 1000;
    const served = answers.filter((a) => a.status !== 429);
    // Served means past the limiter: refused for its Content-Type (415), which comes after the token.
    expect(served.map((a) => a.status), `${seconds} s; ${answers.map((a) => a.status).join(' ')}`).toEqual(Array(BURST).fill(415));
    for (const a of answers.filter((x) => x.status === 429)) {
      expect(a.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(JSON.parse(a.body)).toMatchObject({ type: 'urn:ietf:params:acme:error:rateLimited', status: 429 });
    }
    expect(stderr).not.toContain("own buckets");
  }, 60_000);
});
