/**
 * Token buckets per key (an account, an address): `perMinute` requests a minute on average, bursts
 * up to `burst`. In memory, in the process that holds them: `jinbao serve --workers N` keeps them
 * in the cluster primary so its workers share them (service/cluster.ts); two serve processes on one
 * database each have their own. Buckets idle for ten minutes are dropped.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(
    readonly perMinute: number,
    readonly burst: number = defaultBurst(perMinute),
    private readonly clock: () => number = Date.now,
  ) {}

  /** Take one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string): number {
    const now = this.clock();
    if (now - this.lastSweep > 60_000) this.sweep(now);
    const rate = this.perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000));
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, b] of this.buckets) if (now - b.at > 600_000) this.buckets.delete(k);
  }
}

/** A quarter of a minute's worth, at least one: what the documented limits allow at once. */
export function defaultBurst(perMinute: number): number {
  return Math.max(1, Math.ceil(perMinute / 4));
}

/** One rate: `perMinute` on average, `burst` at once. */
export interface RateLimit {
  readonly perMinute: number;
  readonly burst: number;
}

export interface RateTake {
  readonly ok: boolean;
  /** When refused: the seconds until a token is available (the `Retry-After`). */
  readonly retryAfterSeconds?: number;
}

/**
 * Where the buckets live. The key names the bucket (callers prefix it with what it limits, e.g.
 * `address:192.0.2.1`); the limit travels with each take so whoever holds the buckets needs no
 * configuration of its own.
 */
export interface RateBuckets {
  take(key: string, limit: RateLimit): Promise<RateTake>;
}

/** The buckets in this process: one serve without workers, the cluster primary, a worker's fallback. */
export class LocalRateBuckets implements RateBuckets {
  private readonly limiters = new Map<string, RateLimiter>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** `take` without the promise, for the cluster primary answering its workers. */
  takeNow(key: string, limit: RateLimit): RateTake {
    const spec = `${limit.perMinute}/${limit.burst}`;
    let limiter = this.limiters.get(spec);
    if (!limiter) this.limiters.set(spec, (limiter = new RateLimiter(limit.perMinute, limit.burst, this.clock)));
    const wait = limiter.take(key);
    return wait === 0 ? { ok: true } : { ok: false, retryAfterSeconds: wait };
  }

  take(key: string, limit: RateLimit): Promise<RateTake> {
    return Promise.resolve(this.takeNow(key, limit));
  }
}
