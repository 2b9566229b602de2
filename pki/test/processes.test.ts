import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../lib/audit.js';
import { StateStore } from '../../lib/state.js';
import { opensslCsr, opensslKey, testPki, type TestPki } from './helpers.js';

const WORKER = join(import.meta.dirname, 'issue-worker.ts');

interface Worker {
  readonly child: ChildProcess;
  readonly issued: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once `n` certificates were reported issued. */
  readonly after: (n: number) => Promise<void>;
}

function startWorker(stateDir: string, csr: string, count: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, stateDir, csr, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const issued: string[] = [];
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
      for (const w of waiters.filter((w) => issued.length >= w.n)) w.resolve();
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return {
    child,
    issued,
    exited,
    after: (n) =>
      new Promise<void>((resolve, reject) => {
        if (issued.length >= n) return resolve();
        waiters.push({ n, resolve });
        void exited.then((e) => reject(new Error(`worker exited (${e.code ?? e.signal}) after ${issued.length} of ${n}: ${e.stderr}`)));
      }),
  };
}

/** The store is consistent: SQLite intact, audit chain intact, every certificate has exactly one issuance entry and vice versa. */
function expectConsistent(stateDir: string): string[] {
  const state = StateStore.open(stateDir);
  try {
    expect(state.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(verifyAudit(state)).toMatchObject({ ok: true });
    const serials = (state.db.prepare('SELECT serial FROM pki_certificates ORDER BY serial').all() as { serial: string }[]).map((r) => r.serial);
    const audited = (state.db.prepare("SELECT subject FROM audit_log WHERE action = 'pki.issue' AND outcome = 'ok' ORDER BY subject").all() as { subject: string }[]).map((r) => r.subject);
    expect(audited).toEqual(serials);
    expect(new Set(serials).size).toBe(serials.length);
    return serials;
  } finally {
    state.close();
  }
}

describe('issuing from several processes', () => {
  let t: TestPki;
  let csr: string;
  const workers: Worker[] = [];
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
    csr = join(t.dir, 'server.csr');
    writeFileSync(csr, opensslCsr(t.dir, opensslKey(t.dir, 'server', 'p256'), '/CN=app.s440100.jinbao.internal'));
    t.state.close();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(() => t.cleanup());

  it('GIVEN two processes issuing at once THEN every certificate is recorded once with a unique serial', async () => {
    const a = startWorker(join(t.dir, 'state'), csr, 60);
    const b = startWorker(join(t.dir, 'state'), csr, 60);
    workers.push(a, b);
    const [ea, eb] = await Promise.all([a.exited, b.exited]);
    expect(ea).toMatchObject({ code: 0 });
    expect(eb).toMatchObject({ code: 0 });
    const serials = expectConsistent(join(t.dir, 'state'));
    expect(serials).toHaveLength(120);
    expect([...a.issued, ...b.issued].sort()).toEqual(serials);
  });

  it.each([0, 7])('GIVEN a process SIGKILLed while issuing (%i ms after its 5th certificate) THEN the store stays consistent and every returned certificate is recorded', async (delay) => {
    const before = expectConsistent(join(t.dir, 'state')).length;
    const w = startWorker(join(t.dir, 'state'), csr, 100_000);
    workers.push(w);
    await w.after(5);
    await new Promise((r) => setTimeout(r, delay));
    w.child.kill('SIGKILL');
    const exit = await w.exited;
    expect(exit.signal).toBe('SIGKILL');
    const serials = expectConsistent(join(t.dir, 'state'));
    for (const s of w.issued) expect(serials).toContain(s);
    expect(serials.length).toBeGreaterThanOrEqual(before + w.issued.length);
    expect(serials.length).toBeLessThanOrEqual(before + w.issued.length + 1);
  });
});
