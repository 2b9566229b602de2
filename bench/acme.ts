/**
 * ACME enrollment throughput of `jinbao serve`, in one run with its baselines, `runs` samples each
 * (interleaved, so load on the machine falls on subject and baseline alike):
 *   - complete orders per second: newOrder, the http-01 challenge validated over loopback HTTP,
 *     finalize (the pipeline signs, stores and audits), certificate download, all over HTTPS with
 *     JWS and database nonces; with 1 client and with 16 concurrent in-process clients;
 *   - baseline: `pki issue`'s in-process rate: the same pipeline (server-tls, a P-256 CSR, one
 *     durable commit each) called directly, the same number of certificates per sample;
 *   - the same orders with the state on PostgreSQL (a server started for the run, as the shared
 *     state of `serve` on several machines would be), against the SQLite figures of the same run.
 *     Skipped, and said so, where PostgreSQL's server tools are not installed;
 *   - `jinbao serve --workers 2` as a process (dist/), against `--workers 1` in the same run: 16
 *     clients' complete orders, the clients in this process. Skipped where dist/ is not built.
 * Client and service share this process and the machine's two cores: the figures are the whole
 * loop's cost, not the service's alone.
 * Every order names a new DNS name, so no authorization is reused and each order runs http-01.
 * Run: npx tsx bench/acme.ts [--runs N] [--smoke]  (prints human lines, then one JSON summary)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { LocalOpsContext } from '../orchestration/index.js';
import { createEab } from '../pki/acme/index.js';
import { initHierarchy, PkiStore, toPem } from '../pki/index.js';
import { freePort, smallInventory, waitUntil } from '../testkit/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../lib/test/postgres-server.js';
import { AcmeClient, p256Csr } from '../pki/acme/client.js';
import { Issuer } from '../pki/index.js';
import { challengeServer, PASS, startFixture, type Fixture } from '../service/test/fixture.js';
import { benchArgs, compare, report, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 3 });
const perSample = smoke ? 2 : 32;
// A name per order: an account's valid authorization would otherwise be reused and skip http-01.
// Two stores (SQLite, PostgreSQL) draw from one list.
const ROOT = resolve(import.meta.dirname, '..');
const NAMES = Array.from({ length: 16 + runs * perSample * 6 }, (_, i) => `b${i}.s440100.jinbao.internal`);
let nameIndex = 0;

interface Bench {
  readonly f: Fixture;
  readonly agent: Agent;
  /** `total` complete orders shared by `n` concurrent clients; orders per second. */
  ordersPerSecond(n: number, total: number): Promise<number>;
  /** The same pipeline in-process, `total` certificates; certificates per second. */
  pipelinePerSecond(total: number): Promise<number>;
}

/** `total` complete orders shared by the first `n` of `clients`; orders per second. */
async function ordersPerSecond(clients: readonly AcmeClient[], tokens: Map<string, string>, n: number, total: number): Promise<number> {
  /** One complete order by `c` for a name never ordered before: order, http-01, finalize, download. */
  async function completeOrder(c: AcmeClient): Promise<void> {
    const names = [NAMES[nameIndex++]!];
    const order = await c.newOrder(names);
    const ready = await c.authorize(order, (t, k) => tokens.set(t, k), { intervalMs: 5 });
    if (ready.status !== 'ready') throw new Error(`order ${order.url} is ${ready.status}: ${JSON.stringify(ready.error)}`);
    const fin = await c.finalize(ready, p256Csr(names, { noCommonName: true }).der);
    if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.body.toString()}`);
    const done = JSON.parse(fin.body.toString()) as { certificate: string };
    await c.certificate(done.certificate);
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(clients.slice(0, n).map(async (c) => {
    for (let i = next++; i < total; i = next++) await completeOrder(c);
  }));
  return total / ((performance.now() - t0) / 1000);
}

interface ServeProcess {
  readonly workers: number;
  ordersPerSecond(n: number, total: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * `jinbao serve --workers N` from dist/ on a state of its own, validation pointed at this
 * process's challenge server, rate limits out of the way, and 16 registered clients.
 */
async function serveProcess(workers: number): Promise<ServeProcess> {
  const dir = mkdtempSync(join(os.tmpdir(), `jinbao-bench-acme-w${workers}-`));
  const inventory = join(dir, 'inventory.json');
  const state = join(dir, 'state');
  writeFileSync(inventory, JSON.stringify(smallInventory()));
  writeFileSync(join(dir, 'hosts'), NAMES.map((n) => `127.0.0.1 ${n}\n`).join(''));
  const ctx = new LocalOpsContext({ stateDir: state, inventory });
  const challenges = await challengeServer();
  let child: ChildProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const close = async () => {
    agent.destroy();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await waitUntil(() => child!.exitCode !== null || child!.signalCode !== null, 'jinbao serve to stop', { timeoutMs: 30_000 }).catch(() => child!.kill('SIGKILL'));
    }
    await challenges.close();
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = await PkiStore.open(await ctx.database(), state);
    await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
    const rootPem = toPem((await pki.getCa('root'))!.der);
    const port = await freePort();
    const big = '1000000';
    child = spawn(process.execPath, [join(ROOT, 'dist/bin/jinbao.js'), '--state', state, '--inventory', inventory, 'serve', '--workers', String(workers), '--listen', `127.0.0.1:${port}`, '--acme-hosts', join(dir, 'hosts'), '--acme-http-port', String(challenges.port), '--rate-limit-address', big, '--rate-limit-account', big, '--rate-limit-orders', big], {
      env: { ...process.env, JINBAO_PKI_PASSPHRASE: PASS },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    await waitUntil(() => out.includes('listening on') || child!.exitCode !== null, `jinbao serve --workers ${workers} to listen`, { timeoutMs: 120_000 });
    if (child.exitCode !== null) throw new Error(`jinbao serve --workers ${workers} exited: ${out}`);
    const clients: AcmeClient[] = [];
    for (let i = 0; i < 16; i++) {
      const c = new AcmeClient({ directoryUrl: `https://127.0.0.1:${port}/acme/directory`, caPem: rootPem, agent });
      const a = await c.register(await createEab(ctx, ctx.fabric(), PASS, { site: '440100' }));
      if (a.status !== 201) throw new Error(`register: ${a.status} ${a.body.toString()}`);
      clients.push(c);
    }
    const p: ServeProcess = { workers, ordersPerSecond: (n, total) => ordersPerSecond(clients, challenges.tokens, n, total), close };
    await p.ordersPerSecond(4, 4); // warm-up, not measured
    return p;
  } catch (err) {
    await close();
    throw err;
  }
}

async function prepare(postgresUrl?: string): Promise<Bench> {
  const f = await startFixture({ hosts: NAMES, ...(postgresUrl ? { postgresUrl } : {}) });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const clients: AcmeClient[] = [];
  for (let i = 0; i < 16; i++) clients.push(await f.account('440100', { agent }));

  const issuer = new Issuer(f.pki, f.ctx.fabric(), PASS);
  const csr = p256Csr([NAMES[0]!]).der;
  const b: Bench = {
    f,
    agent,
    ordersPerSecond: (n, total) => ordersPerSecond(clients, f.challenges.tokens, n, total),
    async pipelinePerSecond(total) {
      const t0 = performance.now();
      for (let i = 0; i < total; i++) await issuer.issue({ profile: 'server-tls', site: '440100', csr, validityDays: 90 });
      return total / ((performance.now() - t0) / 1000);
    },
  };
  // warm-up, not measured
  await b.ordersPerSecond(2, 2);
  await b.pipelinePerSecond(2);
  return b;
}

const missing = postgresMissing();
const distMissing = existsSync(join(ROOT, 'dist/bin/jinbao.js')) ? undefined : 'dist/bin/jinbao.js is missing: run npx tsc -p tsconfig.json';
let server: PostgresServer | undefined;
const benches: Bench[] = [];
const processes: ServeProcess[] = [];
try {
  const sqlite = await prepare();
  benches.push(sqlite);
  let pg: Bench | undefined;
  if (missing === undefined) {
    server = await startPostgres({ prefix: 'jinbao-bench-acme-pg-' });
    await server.sql('CREATE DATABASE acme_bench');
    pg = await prepare(server.url({ dbname: 'acme_bench', sslmode: 'disable' }));
    benches.push(pg);
  } else console.log(`ACME on PostgreSQL: skipped (${missing})`);
  if (distMissing === undefined) for (const w of [1, 2]) processes.push(await serveProcess(w));
  else console.log(`ACME through serve --workers: skipped (${distMissing})`);
  const byWorkers = new Map<number, number[]>(processes.map((p) => [p.workers, []]));
  const one: number[] = [];
  const sixteen: number[] = [];
  const direct: number[] = [];
  const pgOne: number[] = [];
  const pgSixteen: number[] = [];
  for (let r = 0; r < runs; r++) {
    one.push(await sqlite.ordersPerSecond(1, perSample));
    if (pg) pgOne.push(await pg.ordersPerSecond(1, perSample));
    sixteen.push(await sqlite.ordersPerSecond(16, perSample));
    if (pg) pgSixteen.push(await pg.ordersPerSecond(16, perSample));
    direct.push(await sqlite.pipelinePerSecond(perSample));
    for (const p of processes) byWorkers.get(p.workers)!.push(await p.ordersPerSecond(16, perSample));
  }
  const baseline = 'pki issue in-process: the same pipeline (server-tls, P-256 CSR, one durable commit each), no protocol';
  const work = `${perSample} certificates per sample`;
  const c1 = compare({ subject: 'ACME complete orders, 1 client', baseline, unit: 'orders/s', work, subjectSamples: one, baselineSamples: direct });
  const c16 = compare({ subject: 'ACME complete orders, 16 concurrent clients', baseline, unit: 'orders/s', work, subjectSamples: sixteen, baselineSamples: direct });
  console.log(report(c1, 1));
  console.log(report(c16, 1));
  const results: Record<string, unknown> = { oneClient: summarize(c1), sixteenClients: summarize(c16) };
  if (pg) {
    const sqliteBaseline = 'the same orders with the state on SQLite, in the same run';
    const p1 = compare({ subject: 'ACME complete orders on PostgreSQL, 1 client', baseline: sqliteBaseline, unit: 'orders/s', work, subjectSamples: pgOne, baselineSamples: one });
    const p16 = compare({ subject: 'ACME complete orders on PostgreSQL, 16 concurrent clients', baseline: sqliteBaseline, unit: 'orders/s', work, subjectSamples: pgSixteen, baselineSamples: sixteen });
    console.log(report(p1, 1));
    console.log(report(p16, 1));
    Object.assign(results, { postgresOneClient: summarize(p1), postgresSixteenClients: summarize(p16) });
  } else Object.assign(results, { postgresql: { skipped: missing } });
  if (processes.length) {
    const w = compare({ subject: 'ACME complete orders, 16 concurrent clients, jinbao serve --workers 2 (a process)', baseline: 'jinbao serve --workers 1 (a process), the same clients, in the same run', unit: 'orders/s', work, subjectSamples: byWorkers.get(2)!, baselineSamples: byWorkers.get(1)! });
    console.log(report(w, 1));
    Object.assign(results, { twoWorkers: summarize(w) });
  } else Object.assign(results, { workers: { skipped: distMissing } });
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log(JSON.stringify({ bench: 'acme', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), results }));
} finally {
  for (const p of processes) await p.close();
  for (const b of benches) {
    b.agent.destroy();
    await b.f.close();
  }
  await server?.close();
}
