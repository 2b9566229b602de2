/**
 * Two `jinbao serve` processes on one PostgreSQL database are one service: a TCP front (what a
 * load balancer does) sends each connection to the process the test picks, behind one public
 * URL. A nonce handed out by one is accepted by the other, an order placed on one is finalized on
 * the other, two concurrent finalize calls (one to each) issue exactly one certificate, and
 * certbot obtains a certificate with its connections spread over both.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect, createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { AcmeClient, p256Csr, problemOf, signJws } from '../../pki/acme/client.js';
import { b64url } from '../../pki/acme/jws.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';
import { challengeServer } from './fixture.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PASS = 'correct horse battery staple';
const NAMES = ['app.s440100.jinbao.internal', 'api.s440100.jinbao.internal', 'www.s440100.jinbao.internal', 'cb.s440100.jinbao.internal'];
const missing = postgresMissing();

interface ServeProcess {
  readonly name: 'A' | 'B';
  readonly port: number;
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
}

/** A TCP front: each new connection goes to the process `pick()` names. */
function front(targets: () => number): Promise<{ port: number; server: Server }> {
  const server = createServer((inbound) => {
    const outbound = connect(targets(), '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r({ port: (server.address() as { port: number }).port, server })));
}

describe.skipIf(missing !== undefined)('two jinbao serve processes on one PostgreSQL database', () => {
  const tmp = tempDir('jinbao-serve-pg-');
  const inventory = join(tmp.dir, 'inventory.json');
  const env = { JINBAO_PKI_PASSPHRASE: PASS, JINBAO_WORK_DIR: join(tmp.dir, 'work') };
  let pg: PostgresServer;
  let url: string;
  let challenges: Awaited<ReturnType<typeof challengeServer>>;
  let lb: { port: number; server: Server };
  let route: 'A' | 'B' | 'alternate' = 'A';
  let turn = 0;
  const procs: ServeProcess[] = [];
  let rootPem = '';
  const g = () => ['--state', url, '--inventory', inventory];
  const publicUrl = () => `https://127.0.0.1:${lb.port}`;

  beforeAll(async () => {
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    pg = await startPostgres({ prefix: 'jinbao-serve-pg-' });
    await pg.sql('CREATE DATABASE serve');
    url = pg.url({ dbname: 'serve', sslmode: 'disable' });
    const init = await runCli([...g(), 'pki', 'init'], env);
    expect(init.code, init.stderr).toBe(0);
    rootPem = (await runCli([...g(), 'pki', 'cas', '--pem', 'root'])).stdout;
    writeFileSync(join(tmp.dir, 'root.pem'), rootPem);
    writeFileSync(join(tmp.dir, 'hosts'), NAMES.map((n) => `127.0.0.1 ${n}\n`).join(''));
    challenges = await challengeServer();
    lb = await front(() => {
      const pick = route === 'alternate' ? (turn++ % 2 === 0 ? 'A' : 'B') : route;
      return procs.find((p) => p.name === pick)!.port;
    });
    // Both start at once: the ACME tables' migration and the two TLS certificates race on the database.
    await Promise.all(
      (['A', 'B'] as const).map(async (name) => {
        const port = await freePort();
        const child = spawn(process.execPath, ['dist/bin/jinbao.js', ...g(), 'serve', '--listen', `127.0.0.1:${port}`, '--public-url', publicUrl(), '--acme-hosts', join(tmp.dir, 'hosts'), '--acme-http-port', String(challenges.port)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        const p: ServeProcess = { name, port, child, stdout: '', stderr: '' };
        child.stdout!.on('data', (b: Buffer) => (p.stdout += b.toString()));
        child.stderr!.on('data', (b: Buffer) => (p.stderr += b.toString()));
        procs.push(p);
        await waitUntil(() => p.stdout.includes('listening on') || child.exitCode !== null, `jinbao serve ${name} to listen`, { timeoutMs: 60_000 });
        expect(child.exitCode, p.stderr).toBeNull();
      }),
    );
  }, 180_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGTERM');
        await waitUntil(() => p.child.exitCode !== null, `jinbao serve ${p.name} to stop`, { timeoutMs: 20_000 }).catch(() => p.child.kill('SIGKILL'));
      }
    }
    lb?.server.close();
    await challenges?.close();
    await pg?.close();
    tmp.cleanup();
  });

  /** A client whose every request opens a new connection, so the front routes each one. */
  const client = () => new AcmeClient({ directoryUrl: `${publicUrl()}/acme/directory`, caPem: rootPem, agent: new Agent({ keepAlive: false }) });
  const finalizeLines = (p: ServeProcess) => p.stderr.split('\n').filter((l) => l.includes('"path":"/acme/order/') && l.includes('/finalize'));

  async function account(): Promise<AcmeClient> {
    const created = await runCli([...g(), 'acme', 'eab', 'create', '--site', '440100', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const c = client();
    const a = await c.register(JSON.parse(created.stdout) as { kid: string; hmacKey: string });
    expect(a.status, a.body.toString()).toBe(201);
    return c;
  }

  it('GIVEN a nonce handed out by A WHEN the request carrying it goes to B THEN B accepts it once, and a replay on A is badNonce', async () => {
    route = 'A';
    const c = await account();
    const nonce = await c.nonce();
    route = 'B';
    const dir = await c.dir();
    const body = JSON.stringify(signJws(c.key, { nonce, url: dir.newOrder, kid: c.accountUrl }, { identifiers: [{ type: 'dns', value: NAMES[0] }] }));
    const onB = await c.postRaw(dir.newOrder!, body);
    expect(onB.status, onB.body.toString()).toBe(201);
    route = 'A';
    const replay = await c.postRaw(dir.newOrder!, body);
    expect(replay.status).toBe(400);
    expect(problemOf(replay)?.type).toBe('urn:ietf:params:acme:error:badNonce');
  });

  it('GIVEN an order placed and authorized on A WHEN it is finalized on B THEN B issues and A serves the certificate', async () => {
    route = 'A';
    const c = await account();
    const order = await c.newOrder([NAMES[1]!]);
    const ready = await c.authorize(order, (t, k) => challenges.tokens.set(t, k));
    expect(ready.status).toBe('ready');
    route = 'B';
    const before = finalizeLines(procs.find((p) => p.name === 'B')!).length;
    const fin = await c.finalize(ready, p256Csr([NAMES[1]!]).der);
    expect(fin.status, fin.body.toString()).toBe(200);
    // the access-log line is written once the answer has gone: wait for it to cross the pipe
    await waitUntil(() => finalizeLines(procs.find((p) => p.name === 'B')!).length > before, 'B to log the finalize', { timeoutMs: 10_000 });
    expect(finalizeLines(procs.find((p) => p.name === 'B')!).length).toBe(before + 1);
    route = 'A';
    const done = await c.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid');
    expect(done.status).toBe('valid');
    expect(await c.certificate(done.certificate!)).toContain('BEGIN CERTIFICATE');
  });

  it('GIVEN a ready order WHEN finalize is sent to A and to B at the same moment THEN exactly one certificate is issued and the other call gets orderNotReady', async () => {
    route = 'A';
    const c = await account();
    const order = await c.newOrder([NAMES[2]!]);
    await c.authorize(order, (t, k) => challenges.tokens.set(t, k));
    const csr = p256Csr([NAMES[2]!]).der;
    const bodies = await Promise.all([0, 1].map(async () => JSON.stringify(signJws(c.key, { nonce: await c.nonce(), url: order.finalize, kid: c.accountUrl }, { csr: b64url(csr) }))));
    const count = async () => Number((await pg.sql('SELECT COUNT(*) FROM pki_certificates', 'serve')).trim());
    const certificatesBefore = await count();
    const finA = finalizeLines(procs[0]!).length + finalizeLines(procs[1]!).length;
    route = 'alternate';
    turn = 0;
    const answers = await Promise.all(bodies.map((b) => c.postRaw(order.finalize, b)));
    route = 'A';
    await waitUntil(() => finalizeLines(procs[0]!).length + finalizeLines(procs[1]!).length >= finA + 2, 'both finalizes logged', { timeoutMs: 10_000 });
    expect(finalizeLines(procs[0]!).length + finalizeLines(procs[1]!).length).toBe(finA + 2);
    expect(procs.every((p) => finalizeLines(p).length > 0)).toBe(true);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 403]);
    expect(problemOf(answers.find((a) => a.status === 403)!)?.type).toBe('urn:ietf:params:acme:error:orderNotReady');
    const done = await c.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid');
    expect(done.status).toBe('valid');
    expect(await c.certificate(done.certificate!)).toContain('BEGIN CERTIFICATE');
    expect(await count()).toBe(certificatesBefore + 1);
    const orders = await pg.sql(`SELECT COUNT(*) FROM acme_certificates WHERE order_id = '${order.url.split('/').pop()}'`, 'serve');
    expect(orders.trim()).toBe('1');
  });

  it('GIVEN the two processes behind one URL WHEN certbot obtains a certificate with its connections alternating between them THEN it succeeds and openssl verifies it', async () => {
    route = 'alternate';
    const created = await runCli([...g(), 'acme', 'eab', 'create', '--site', '440100', '--json'], env);
    const eab = JSON.parse(created.stdout) as { kid: string; hmacKey: string };
    const httpPort = challenges.port;
    // certbot's standalone server needs the port the validator connects to: free the fixture's.
    await challenges.close();
    const cfg = join(tmp.dir, 'cb');
    const out = await new Promise<string>((done) =>
      execFile(
        'certbot',
        ['certonly', '--config-dir', join(cfg, 'config'), '--work-dir', join(cfg, 'work'), '--logs-dir', join(cfg, 'logs'), '--non-interactive', '--standalone', '--http-01-port', String(httpPort), '--http-01-address', '127.0.0.1', '-d', NAMES[3]!, '--server', `${publicUrl()}/acme/directory`, '--eab-kid', eab.kid, '--eab-hmac-key', eab.hmacKey, '--agree-tos', '-m', 'ops@example.org'],
        { env: { ...process.env, REQUESTS_CA_BUNDLE: join(tmp.dir, 'root.pem') }, timeout: 180_000 },
        (_err, stdout, stderr) => done(stdout + stderr),
      ),
    );
    expect(out).toContain('Successfully received certificate');
    const live = join(cfg, 'config', 'live', NAMES[3]!);
    const v = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(tmp.dir, 'root.pem'), '-untrusted', join(live, 'chain.pem'), join(live, 'cert.pem')], { encoding: 'utf8' });
    expect(v.stdout + v.stderr).toContain(': OK');
    for (const p of procs) expect(p.stderr.split('\n').filter((l) => l.includes('"path":"/acme/')).length, `${p.name} served no ACME request`).toBeGreaterThan(0);
    for (const p of procs) expect(p.stderr).not.toMatch(/\s+at \S+ \(/);
  }, 240_000);
});
