/**
 * The rate-limit buckets of `serve --workers N` without forking: workers' ends of the IPC channel
 * are fakes wired to one `primaryBuckets`, as node:cluster wires real workers to the primary.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clusterBuckets, primaryBuckets, RATE_TAKE_TIMEOUT_MS, type WorkerIpc } from '../cluster.js';

const LIMIT = { perMinute: 12, burst: 3 };

/** A worker's channel to `primary`: replies arrive asynchronously, like IPC messages do. */
function channelTo(primary: ReturnType<typeof primaryBuckets> | undefined, o: { closed?: boolean } = {}): WorkerIpc & { sent: unknown[] } {
  const listeners: ((m: unknown) => void)[] = [];
  const sent: unknown[] = [];
  return {
    sent,
    send(message, onError) {
      if (o.closed) return onError(new Error('channel closed'));
      sent.push(message);
      const reply = primary?.answer(message);
      if (reply) setImmediate(() => listeners.forEach((l) => l(reply)));
    },
    onMessage: (l) => void listeners.push(l),
  };
}

async function okCount(buckets: ReturnType<typeof clusterBuckets>, key: string, n: number): Promise<number> {
  const taken = await Promise.all(Array.from({ length: n }, () => buckets.take(key, LIMIT)));
  return taken.filter((t) => t.ok).length;
}

afterEach(() => vi.useRealTimers());

describe('rate-limit buckets shared through the cluster primary', () => {
  it('GIVEN two workers taking from one key THEN together they get the burst once, not once each; refusals carry Retry-After', async () => {
    const primary = primaryBuckets();
    const a = clusterBuckets({ ipc: channelTo(primary) });
    const b = clusterBuckets({ ipc: channelTo(primary) });
    const [fromA, fromB] = await Promise.all([okCount(a, 'address:192.0.2.1', 5), okCount(b, 'address:192.0.2.1', 5)]);
    expect(fromA + fromB).toBe(LIMIT.burst);
    // 12 a minute: the next token is 5 s away
    expect(await a.take('address:192.0.2.1', LIMIT)).toEqual({ ok: false, retryAfterSeconds: 5 });
    // another key has its own bucket
    expect(await b.take('address:192.0.2.2', LIMIT)).toEqual({ ok: true });
  });

  it('GIVEN the same key under two limits THEN each limit has its own bucket', async () => {
    const primary = primaryBuckets();
    const a = clusterBuckets({ ipc: channelTo(primary) });
    expect(await okCount(a, 'k', 5)).toBe(3);
    expect((await a.take('k', { perMinute: 60, burst: 2 })).ok).toBe(true);
  });

  it('GIVEN a primary that never answers THEN each take falls back to the worker\'s own bucket after 1 s, and says why', async () => {
    vi.useFakeTimers();
    const ipc = channelTo(undefined);
    const why: string[] = [];
    const w = clusterBuckets({ ipc, onFallback: (reason) => why.push(reason) });
    const takes = Array.from({ length: 5 }, () => w.take('address:192.0.2.1', LIMIT));
    let settled = 0;
    for (const t of takes) void t.then(() => settled++);
    await vi.advanceTimersByTimeAsync(RATE_TAKE_TIMEOUT_MS - 1);
    expect(settled).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect((await Promise.all(takes)).map((t) => t.ok)).toEqual([true, true, true, false, false]);
    expect(ipc.sent).toHaveLength(5);
    expect(why).toEqual(Array(5).fill('the primary did not answer within 1000 ms'));
  });

  it('GIVEN a late answer after the fallback THEN it is ignored (the take settled once)', async () => {
    vi.useFakeTimers();
    const listeners: ((m: unknown) => void)[] = [];
    const w = clusterBuckets({ ipc: { send: () => undefined, onMessage: (l) => void listeners.push(l) } });
    const take = w.take('k', LIMIT);
    await vi.advanceTimersByTimeAsync(RATE_TAKE_TIMEOUT_MS);
    expect(await take).toEqual({ ok: true });
    expect(() => listeners.forEach((l) => l({ type: 'jinbao-serve-rate-taken', id: 1, ok: false, retryAfterSeconds: 9 }))).not.toThrow();
  });

  it('GIVEN the channel to the primary is closed THEN the take is answered at once from the worker\'s own bucket', async () => {
    const why: string[] = [];
    const w = clusterBuckets({ ipc: channelTo(primaryBuckets(), { closed: true }), onFallback: (reason) => why.push(reason) });
    const t0 = Date.now();
    expect(await okCount(w, 'k', 4)).toBe(3);
    expect(Date.now() - t0).toBeLessThan(RATE_TAKE_TIMEOUT_MS);
    expect(why).toEqual(Array(4).fill('channel closed'));
  });

  it('GIVEN a send that throws THEN the take still settles from the worker\'s own bucket', async () => {
    const w = clusterBuckets({ ipc: { send: () => { throw new Error('EPIPE'); }, onMessage: () => undefined } });
    expect(await w.take('k', LIMIT)).toEqual({ ok: true });
  });

  it('GIVEN messages that are not take requests THEN the primary leaves them to others', () => {
    const primary = primaryBuckets();
    expect(primary.answer({ type: 'jinbao-serve-want-metrics', id: 1 })).toBeUndefined();
    expect(primary.answer(undefined)).toBeUndefined();
    expect(primary.answer({ type: 'jinbao-serve-rate-take', id: 7, key: 'k', ...LIMIT })).toEqual({ type: 'jinbao-serve-rate-taken', id: 7, ok: true });
  });
});
