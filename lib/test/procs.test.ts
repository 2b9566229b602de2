import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '../../testkit/index.js';
import { isRunning, listProcs, procState, readProc } from '../procs.js';

describe('processes by pid and start time', () => {
  it('GIVEN this process THEN /proc gives its parent, argv and start time, and the table lists it', () => {
    const me = readProc(process.pid)!;
    expect(me.ppid).toBe(process.ppid);
    expect(me.argv).toEqual(process.argv.length > 0 ? expect.arrayContaining([expect.stringContaining('node')]) : []);
    expect(me.start).toBeGreaterThan(0);
    expect(me.zombie).toBe(false);
    expect(listProcs().some((p) => p.pid === process.pid && p.start === me.start)).toBe(true);
    expect(isRunning({ pid: process.pid, start: me.start })).toBe(true);
  });

  it('GIVEN a recorded pid whose start time differs THEN it is another process, not the one recorded', () => {
    const me = readProc(process.pid)!;
    expect(isRunning({ pid: process.pid, start: me.start + 1 })).toBe(false);
  });

  it('GIVEN a child that exited THEN /proc no longer has it and its record is not running', async () => {
    const child = spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' });
    const pid = child.pid!;
    const start = readProc(pid)?.start;
    await new Promise((r) => child.once('exit', r));
    // Node reaps its children itself; wait for that.
    await waitUntil(() => procState(pid) === undefined, `process ${pid} to be reaped`, { timeoutMs: 5_000, intervalMs: 10 });
    expect(readProc(pid)).toBeUndefined();
    if (start !== undefined) expect(isRunning({ pid, start })).toBe(false);
  });
});
