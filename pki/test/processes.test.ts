import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../lib/audit.js';
import { openDatabase } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { opensslCsr, opensslKey, testPki, type TestPki } from './helpers.js';

const WORKER = join(import.meta.dirname, 'issue-worker.ts');

interface Worker {
  readonly child: ChildProcess;
  readonly issued: string[];
  /** Acknowledged revocations: serial and its place in the revocation sequence. */
  readonly revoked: { serial: string; seq: number }[];
  readonly fails: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once `n` certificates were reported issued. */
  readonly after: (n: number) => Promise<void>;
}

function startWorker(target: string, stateDir: string, csr: string, count: number, opts: { inFlight?: number; revokeEvery?: number } = {}): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, target, stateDir, csr, String(count), String(opts.inFlight ?? 1), String(opts.revokeEvery ?? 0)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const issued: string[] = [];
  const revoked: { serial: string; seq: number }[] = [];
  const fails: string[] = [];
  let stderr = '';
  const waiters: { n: number; resolve: () => void }[] = [];
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('issued ')) issued.push(line.slice(7));
      else if (line.startsWith('revoked ')) {
        const [, serial, seq] = line.split(' ');
        revoked.push({ serial: serial!, seq: Number(seq) });
      } else if (line.startsWith('fail ')) fails.push(line);
      for (const w of waiters.filter((w) => issued.length >= w.n)) w.resolve();
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return {
    child,
    issued,
    revoked,
    fails,
    exited,
    after: (n) =>
      new Promise<void>((resolve, reject) => {
        if (issued.length >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then((e) => reject(new Error(`worker exited (${e.code ?? e.signal}) after ${issued.length} of ${n}: ${e.stderr}`)));
      }),
  };
}

/**
 * The store is consistent: (SQLite intact,) audit chain intact, every certificate has exactly one
 * issuance entry and vice versa, every revocation one entry, and the revocation sequence numbers
 * 1…N without a repeat or a gap, rising along the audit chain.
 */
async function expectConsistent(target: string): Promise<{ serials: string[]; revoked: Map<string, number> }> {
  const db = await openDatabase(target);
  try {
    if (db.dialect === 'sqlite') expect(await db.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await verifyAudit(db)).toMatchObject({ ok: true });
    const serials = (await db.query<{ serial: string }>('SELECT serial FROM pki_certificates ORDER BY serial')).map((r) => r.serial);
    const audited = (await db.query<{ subject: string }>("SELECT subject FROM audit_log WHERE action = 'pki.issue' AND outcome = 'ok' ORDER BY subject")).map((r) => r.subject);
    expect(audited).toEqual(serials);
    expect(new Set(serials).size).toBe(serials.length);
    const revoked = await db.query<{ serial: string; revocation_seq: number }>("SELECT serial, revocation_seq FROM pki_certificates WHERE status = 'revoked' ORDER BY revocation_seq");
    expect(revoked.map((r) => r.revocation_seq)).toEqual(revoked.map((_, i) => i + 1));
    const [{ value }] = (await db.query<{ value: number }>("SELECT value FROM pki_sequence WHERE name = 'revocation'")) as [{ value: number }];
    expect(value).toBe(revoked.length);
    const revocationEntries = await db.query<{ subject: string; details: string }>("SELECT subject, details FROM audit_log WHERE action = 'pki.revoke' AND outcome = 'ok' ORDER BY seq");
    expect(revocationEntries.map((e) => (JSON.parse(e.details) as { revocationSeq: number }).revocationSeq)).toEqual(revoked.map((r) => r.revocation_seq));
    expect(revocationEntries.map((e) => e.subject)).toEqual(revoked.map((r) => r.serial));
    return { serials, revoked: new Map(revoked.map((r) => [r.serial, r.revocation_seq])) };
  } finally {
    await db.close();
  }
}

/** Every acknowledged operation is in the store, as acknowledged. */
function expectAcknowledged(store: { serials: string[]; revoked: Map<string, number> }, workers: readonly Worker[]): void {
  const serials = new Set(store.serials);
  for (const w of workers) {
    for (const s of w.issued) expect(serials.has(s)).toBe(true);
    for (const r of w.revoked) expect(store.revoked.get(r.serial)).toBe(r.seq);
  }
}

describe('issuing from several processes into one SQLite store', () => {
  let t: TestPki;
  let csr: string;
  const workers: Worker[] = [];
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
    csr = join(t.dir, 'server.csr');
    writeFileSync(csr, opensslCsr(t.dir, opensslKey(t.dir, 'server', 'p256'), '/CN=app.s440100.jinbao.internal'));
    await t.db.close();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    await t.cleanup().catch(() => undefined);
  });

  it('GIVEN two processes issuing and revoking at once THEN every certificate is recorded once with a unique serial and the revocation sequence has no repeat', async () => {
    const a = startWorker(t.stateDir, t.stateDir, csr, 60, { inFlight: 4, revokeEvery: 5 });
    const b = startWorker(t.stateDir, t.stateDir, csr, 60, { inFlight: 4, revokeEvery: 5 });
    workers.push(a, b);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea).toMatchObject({ code: 0 });
    expect(eb).toMatchObject({ code: 0 });
    expect([...a.fails, ...b.fails]).toEqual([]);
    const store = await expectConsistent(t.stateDir);
    expect(store.serials).toHaveLength(120);
    expect([...a.issued, ...b.issued].sort()).toEqual(store.serials);
    expect(store.revoked.size).toBe(24);
    expectAcknowledged(store, [a, b]);
  });

  it.each([0, 7])('GIVEN a process SIGKILLed while issuing (%i ms after its 5th certificate) THEN the store stays consistent and every returned certificate is recorded', async (delay) => {
    const before = (await expectConsistent(t.stateDir)).serials.length;
    const w = startWorker(t.stateDir, t.stateDir, csr, 100_000);
    workers.push(w);
    await w.after(5);
    await new Promise((r) => setTimeout(r, delay));
    w.child.kill('SIGKILL');
    const exit = await w.exited;
    expect(exit.signal).toBe('SIGKILL');
    const { serials } = await expectConsistent(t.stateDir);
    for (const s of w.issued) expect(serials).toContain(s);
    expect(serials.length).toBeGreaterThanOrEqual(before + w.issued.length);
    expect(serials.length).toBeLessThanOrEqual(before + w.issued.length + 1);
  });
});

describe.skipIf(postgresMissing() !== undefined)('issuing from several processes into one PostgreSQL store', () => {
  let server: PostgresServer;
  let t: TestPki;
  let csr: string;
  let url: string;
  const workers: Worker[] = [];
  beforeAll(async () => {
    server = await startPostgres({ prefix: 'jinbao-pki-processes-pg-' });
    await server.sql('CREATE DATABASE pki');
    url = server.url({ dbname: 'pki', sslmode: 'disable' });
    t = await testPki('ecdsa-p256', undefined, { target: url });
    csr = join(t.dir, 'server.csr');
    writeFileSync(csr, opensslCsr(t.dir, opensslKey(t.dir, 'server', 'p256'), '/CN=app.s440100.jinbao.internal'));
    await t.db.close();
  }, 60_000);
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    await t?.cleanup().catch(() => undefined);
    await server?.close();
  });

  it('GIVEN 4 processes issuing and revoking at once THEN serials are unique, the revocation sequence rises without a repeat, the audit chain verifies and every acknowledged certificate is there once', async () => {
    const ws = Array.from({ length: 4 }, () => startWorker(url, t.stateDir, csr, 80, { inFlight: 8, revokeEvery: 4 }));
    workers.push(...ws);
    const exits = await Promise.all(ws.map((w) => w.exited));
    for (const e of exits) expect(e).toMatchObject({ code: 0 });
    expect(ws.flatMap((w) => w.fails)).toEqual([]);
    const store = await expectConsistent(url);
    expect(store.serials).toHaveLength(320);
    expect(ws.flatMap((w) => w.issued).sort()).toEqual(store.serials);
    expect(store.revoked.size).toBe(80);
    expectAcknowledged(store, ws);
  }, 180_000);

  it('GIVEN the server SIGKILLed and restarted while 4 processes issue and revoke THEN each operation completes or fails clearly, nothing acknowledged is lost, nothing is recorded twice, and the chain verifies', async () => {
    const before = (await expectConsistent(url)).serials.length;
    const ws = Array.from({ length: 4 }, () => startWorker(url, t.stateDir, csr, 150, { inFlight: 8, revokeEvery: 4 }));
    workers.push(...ws);
    await Promise.all(ws.map((w) => w.after(10)));
    await server.kill();
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    const exits = await Promise.all(ws.map((w) => w.exited));
    for (const e of exits) expect(e).toMatchObject({ code: 0 });
    const store = await expectConsistent(url);
    expectAcknowledged(store, ws);
    const acknowledged = ws.flatMap((w) => w.issued);
    const failed = ws.flatMap((w) => w.fails).filter((f) => f.startsWith('fail issue-'));
    // Every issuance was acknowledged or failed with a message; a failed one may or may not be recorded, never twice.
    expect(acknowledged.length + failed.length).toBe(4 * 150);
    expect(store.serials.length).toBeGreaterThanOrEqual(before + acknowledged.length);
    expect(store.serials.length).toBeLessThanOrEqual(before + acknowledged.length + failed.length);
    for (const f of ws.flatMap((w) => w.fails)) expect(f).toMatch(/^fail \S+ \S/);
  }, 240_000);
});
