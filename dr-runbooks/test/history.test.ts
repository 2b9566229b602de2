import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../lib/sql/index.js';
import { stateBackends } from '../../lib/test/state-backends.js';
import { DrillHistory } from '../index.js';
import { request } from './helpers.js';

const WORKER = join(import.meta.dirname, 'history-worker.ts');
const backends = stateBackends('jinbao-dr-hist-');
const barriers = mkdtempSync(join(tmpdir(), 'jinbao-dr-barrier-'));
afterAll(() => rmSync(barriers, { recursive: true, force: true }));

/** A pid no process has (beyond the default pid_max of 2^22). */
const GONE = 2 ** 22 + 7;

describe.each(backends)('drill history and the lock on $name', ({ skip, open, fresh }) => {
  const history = async () => DrillHistory.open(await open());

  it.skipIf(skip)('GIVEN a lock left by a process that is gone THEN the next drill takes it over and marks the old run aborted', async () => {
    const h = await history();
    await h.begin('pg-local:440000', 'dr-old', request(), GONE);
    expect(await h.begin('pg-local:440000', 'dr-new', request())).toEqual({ tookOverFrom: 'dr-old' });
    expect(await h.get('dr-old')).toMatchObject({ result: 'aborted', reason: 'its process ended without finishing' });
    expect(await h.get('dr-new')).toMatchObject({ result: 'running', pid: process.pid, abortRequested: false });
  });

  it.skipIf(skip)('GIVEN a live drill holding the lock THEN another is refused, naming the holder; another pair is free', async () => {
    const h = await history();
    await h.begin('pg-local:440000', 'dr-live', request(), process.pid);
    await expect(h.begin('pg-local:440000', 'dr-second', request())).rejects.toThrow(
      new RegExp(`^refusing to start the drill: drill dr-live \\(pid ${process.pid}, since \\d{4}-.+Z\\) holds the lock on pg-local:440000; wait for it or stop it with: jinbao drill abort dr-live$`),
    );
    expect(await h.get('dr-second')).toBeUndefined();
    expect(await h.begin('pg-local:110000', 'dr-other-pair', request({ site: '110000' }))).toEqual({});
  });

  it.skipIf(skip)('GIVEN a drill started on another machine sharing the store THEN it is judged by its heartbeat: recent → refused and only asked to abort; stale → taken over or marked aborted', async () => {
    const db = await open();
    const h = await DrillHistory.open(db);
    // A drill another machine started: its pid means nothing here, its heartbeat does.
    const remote = async (run: string, lock: string, heartbeatAgoMs: number) => {
      await h.begin(lock, run, request(), GONE);
      await db.run('UPDATE dr_lock SET host = $1 WHERE run_id = $2', ['dr-coordinator-2.example', run]);
      await db.run('UPDATE dr_runs SET host = $1, heartbeat_at = $2 WHERE id = $3', ['dr-coordinator-2.example', new Date(Date.now() - heartbeatAgoMs).toISOString(), run]);
    };
    await remote('dr-remote-live', 'pg:440000', 2_000);
    await expect(h.begin('pg:440000', 'dr-here', request())).rejects.toThrow(
      /^refusing to start the drill: drill dr-remote-live \(pid \d+ on dr-coordinator-2\.example, since .+, last heard from .+Z\) holds the lock on pg:440000; wait for it or stop it with: jinbao drill abort dr-remote-live$/,
    );
    expect(await h.requestAbort('dr-remote-live')).toBe('requested');
    expect(await h.abortRequested('dr-remote-live')).toBe(true);

    await remote('dr-remote-stale', 'pg:110000', 120_000);
    expect(await h.begin('pg:110000', 'dr-here-2', request({ site: '110000' }))).toEqual({ tookOverFrom: 'dr-remote-stale' });
    await remote('dr-remote-gone', 'pg:120000', 120_000);
    expect(await h.requestAbort('dr-remote-gone')).toBe('marked-aborted');

    // A running drill's heartbeat keeps it alive for the others.
    await h.heartbeat('dr-remote-gone');
    const [beat] = await db.query<{ heartbeat_at: string | null }>("SELECT heartbeat_at FROM dr_runs WHERE id = 'dr-remote-gone'");
    expect(Date.parse(beat!.heartbeat_at!)).toBeLessThan(Date.now() - 60_000); // finished runs do not beat
    await h.heartbeat('dr-here');
  });

  it.skipIf(skip)('GIVEN finished runs THEN measurements read back as written, recent passes count only within 90 days and the latest run per site is listed', async () => {
    const h = await history();
    await h.begin('l', 'dr-1', request(), process.pid);
    await h.finish('l', 'dr-1', { result: 'passed', rtoMs: 812.5, rpoRows: 0, rpoWalBytes: 2 ** 40, report: {} });
    await h.begin('l', 'dr-2', request({ site: '440100' }), process.pid);
    await h.finish('l', 'dr-2', { result: 'failed', report: {} });
    expect(await h.get('dr-1')).toMatchObject({ rtoMs: 812.5, rpoRows: 0, rpoWalBytes: 2 ** 40, objectiveRtoSeconds: 120, objectiveRpoSeconds: 0 });
    expect(await h.get('dr-2')).not.toHaveProperty('rtoMs');
    expect([...(await h.recentPassed())]).toEqual(['440000']);
    expect([...(await h.recentPassed(new Date(Date.now() + 91 * 86_400_000)))]).toEqual([]);
    expect((await h.latestPerSite()).map((r) => [r.site, r.result])).toEqual([
      ['440000', 'passed'],
      ['440100', 'failed'],
    ]);
    expect((await h.list()).map((r) => r.id)).toEqual(['dr-2', 'dr-1']);
    expect((await h.list({ site: '440100' })).map((r) => r.id)).toEqual(['dr-2']);
  });

  it.skipIf(skip)('GIVEN drills on the lab and on a real pair THEN only the real pair counts as DR evidence', async () => {
    const h = await history();
    await h.begin('l', 'dr-lab', request({ target: 'pg-local' }), process.pid);
    await h.finish('l', 'dr-lab', { result: 'passed', report: {} });
    expect(await h.realPairDrills()).toEqual({ finished: 0, recentPassed: new Set() });
    await h.begin('p', 'dr-real-fail', request({ target: 'pg', site: '440100' }), process.pid);
    await h.finish('p', 'dr-real-fail', { result: 'failed', report: {} });
    await h.begin('p', 'dr-real', request({ target: 'pg', site: '110000' }), process.pid);
    await h.finish('p', 'dr-real', { result: 'passed', report: {} });
    expect(await h.realPairDrills()).toEqual({ finished: 2, recentPassed: new Set(['110000']) });
    expect((await h.realPairDrills(new Date(Date.now() + 91 * 86_400_000))).recentPassed).toEqual(new Set());
  });

  it.skipIf(skip)('GIVEN a report that recorded the replication connection THEN the observation is read back; none is claimed without one', async () => {
    const h = await history();
    await h.begin('l', 'dr-tls', request(), process.pid);
    await h.finish('l', 'dr-tls', { result: 'passed', report: { events: [{ type: 'measure', name: 'preflight.replicationTls', value: 'mutual-tls' }] } });
    await h.begin('l', 'dr-old-format', request(), process.pid);
    await h.finish('l', 'dr-old-format', { result: 'passed', report: { events: [] } });
    expect(await h.replicationTls('dr-tls')).toBe('mutual-tls');
    expect(await h.replicationTls('dr-old-format')).toBeUndefined();
    expect(await h.report('dr-tls')).toEqual({ events: [{ type: 'measure', name: 'preflight.replicationTls', value: 'mutual-tls' }] });
  });

  it.skipIf(skip)('GIVEN abort requests THEN a live run is flagged, and unknown or finished runs are refused with the reason', async () => {
    const h = await history();
    await h.begin('l', 'dr-live', request(), process.pid);
    await expect(h.report('dr-live')).rejects.toThrow('drill run "dr-live" is running and has no report yet; wait for it to finish');
    expect(await h.requestAbort('dr-live')).toBe('requested');
    expect(await h.abortRequested('dr-live')).toBe(true);
    await h.finish('l', 'dr-live', { result: 'aborted', report: {} });
    await expect(h.requestAbort('dr-live')).rejects.toThrow('drill run "dr-live" already finished (aborted); nothing to abort');
    await expect(h.requestAbort('dr-nope')).rejects.toThrow('no drill run "dr-nope" in the state store; list runs with: jinbao drill list');
    await expect(h.report('dr-nope')).rejects.toThrow('no drill run "dr-nope" in the state store; list runs with: jinbao drill list');
  });

  it.skipIf(skip)('GIVEN a running drill whose process is gone THEN abort marks it aborted at once and frees its lock', async () => {
    const h = await history();
    await h.begin('l', 'dr-ghost', request(), GONE + 2);
    expect(await h.requestAbort('dr-ghost')).toBe('marked-aborted');
    expect((await h.get('dr-ghost'))!.result).toBe('aborted');
    expect(await h.begin('l', 'dr-next', request())).toEqual({});
  });

  it.skipIf(skip)('GIVEN a refused run THEN discarding it leaves no trace and frees the lock', async () => {
    const h = await history();
    await h.begin('l', 'dr-refused', request(), process.pid);
    await h.discard('l', 'dr-refused');
    expect(await h.list()).toEqual([]);
    expect(await h.begin('l', 'dr-next', request())).toEqual({});
  });

  it.skipIf(skip)(
    'GIVEN four processes starting a drill on one pair at once THEN exactly one takes the lock, the others are refused naming it; abort from here stops it; a SIGKILLed holder is taken over',
    async () => {
      const target = await fresh();
      const lock = 'pg:440000';
      const barrier = join(barriers, `race-${Math.random().toString(16).slice(2)}`);
      const workers = Array.from({ length: 4 }, () => startWorker(target, barrier, lock));
      await Promise.all(workers.map((w) => w.line(/^ready$/)));
      writeFileSync(barrier, '');
      const outcomes = await Promise.all(workers.map((w) => w.line(/^(began|refused) /)));
      const began = outcomes.filter((l) => l.startsWith('began '));
      expect(began).toHaveLength(1);
      const winner = began[0]!.slice('began '.length);
      for (const l of outcomes.filter((x) => x.startsWith('refused '))) {
        expect(l).toMatch(new RegExp(`^refused refusing to start the drill: drill ${winner} \\(pid \\d+, since .+\\) holds the lock on ${lock}; wait for it or stop it with: jinbao drill abort ${winner}$`));
      }
      const db = await openDatabase(target);
      try {
        const h = await DrillHistory.open(db);
        expect(await h.requestAbort(winner)).toBe('requested');
        const holder = workers[outcomes.findIndex((l) => l.startsWith('began '))]!;
        await holder.line(/^aborted$/);
        for (const w of workers) expect(await w.exited).toMatchObject({ code: 0 });
        expect(await h.get(winner)).toMatchObject({ result: 'aborted', abortRequested: true });

        // A holder killed without a chance to record anything: the next drill takes its lock over.
        const barrier2 = `${barrier}-2`;
        const killed = startWorker(target, barrier2, lock);
        await killed.line(/^ready$/);
        writeFileSync(barrier2, '');
        const run = (await killed.line(/^began /)).slice('began '.length);
        killed.child.kill('SIGKILL');
        expect(await killed.exited).toMatchObject({ signal: 'SIGKILL' });
        expect(await h.begin(lock, 'dr-after-crash', request())).toEqual({ tookOverFrom: run });
        expect(await h.get(run)).toMatchObject({ result: 'aborted', reason: 'its process ended without finishing' });
      } finally {
        await db.close();
      }
    },
    180_000,
  );
});

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** The first stdout line matching `re` (waiting for it), or a rejection when the process ends first. */
  line(re: RegExp): Promise<string>;
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function startWorker(target: string, barrier: string, lock: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, target, barrier, lock, '440000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(l);
      for (const w of waiters.filter((x) => x.re.test(l))) w.resolve(l);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return {
    child,
    exited,
    line: (re) =>
      new Promise<string>((resolve, reject) => {
        const seen = lines.find((l) => re.test(l));
        if (seen !== undefined) return resolve(seen);
        waiters.push({ re, resolve });
        void exited.then((e) => reject(new Error(`worker exited (${e.code ?? e.signal}) before printing ${re}: ${lines.join(' | ')} ${e.stderr}`)));
      }),
  };
}
