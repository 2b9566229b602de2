import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { LocalRateBuckets, type RateBuckets, type RateLimit, type RateTake } from '../pki/acme/index.js';

/**
 * `jinbao serve --workers N`: N processes share the listening sockets (node:cluster), so OCSP
 * signing, TLS and JSON parsing use every core. The primary opens the CA keys and obtains the TLS
 * certificate once, hands the certificate and key to each worker over the IPC channel (never
 * through the environment or a file), forwards SIGTERM/SIGINT and waits for the workers to drain.
 * Everything the workers share lives in the state store (nonces, orders, CRLs, revocations); the
 * ACME rate-limit buckets live in the primary, which every worker asks for a token (so the
 * documented limits hold for the serve as a whole, not per worker; two serve processes on one
 * PostgreSQL database still have a set of buckets each). `/metrics`, answered by whichever worker
 * gets the request, is the sum over all workers: the worker asks the primary, which collects every
 * worker's registry (prom-client's AggregatorRegistry: counters and histograms summed).
 */

export interface ServiceTls {
  readonly certPem: string;
  readonly keyPem: string;
}

interface TlsMessage {
  readonly type: 'jinbao-serve-tls';
  readonly tls: ServiceTls;
  /** This worker runs the periodic housekeeping (the ACME expiry sweep): exactly one live worker does. */
  readonly housekeeping: boolean;
}

/** Where a worker listens (all workers share the sockets, so one answer names them). */
export interface WorkerListening {
  readonly url: string;
  readonly httpUrl?: string;
}

interface ReadyMessage {
  readonly type: 'jinbao-serve-ready';
  readonly listening: WorkerListening;
}

/** True in a process forked by `runPrimary`. */
export function isServeWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker: the TLS material the primary sends, then `ready()` once listening. */
export function workerChannel(): { tls: Promise<ServiceTls>; housekeeping: Promise<boolean>; ready(listening: WorkerListening): void; done(): void } {
  const message = new Promise<TlsMessage>((resolve) => {
    const onMessage = (m: unknown) => {
      if ((m as TlsMessage)?.type !== 'jinbao-serve-tls') return;
      process.off('message', onMessage);
      resolve(m as TlsMessage);
    };
    process.on('message', onMessage);
    // Asked for, not pushed at start: a message arriving before this listener exists is lost.
    process.send?.({ type: 'jinbao-serve-want-tls' });
  });
  return {
    tls: message.then((m) => m.tls),
    housekeeping: message.then((m) => m.housekeeping === true),
    ready: (listening) => process.send?.({ type: 'jinbao-serve-ready', listening } satisfies ReadyMessage),
    // The IPC channel keeps a worker's event loop alive: let go of it once drained, so the worker exits.
    done: () => process.disconnect?.(),
  };
}

interface MetricsReply {
  readonly type: 'jinbao-serve-metrics';
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

let metricsAsked = 0;

/**
 * In a worker: `/metrics` over every worker. The primary's collection asks this worker too, for
 * `registry`. Falls back to this worker's own numbers (with a comment saying so) when the primary
 * does not answer in time.
 */
export function clusterMetrics(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // in a worker, this installs prom-client's answer to the primary's collection
  return () =>
    new Promise<string>((resolve) => {
      const id = ++metricsAsked;
      const fallback = async (why: string) => resolve(`# jinbao: this worker's metrics only (${why})\n${await registry.metrics()}`);
      const timer = setTimeout(() => (process.off('message', onMessage), void fallback('the primary did not answer within 5 s')), 5000);
      const onMessage = (m: unknown) => {
        const r = m as MetricsReply;
        if (r?.type !== 'jinbao-serve-metrics' || r.id !== id) return;
        clearTimeout(timer);
        process.off('message', onMessage);
        if (r.text !== undefined) resolve(r.text);
        else void fallback(r.error ?? 'the primary could not collect them');
      };
      process.on('message', onMessage);
      process.send?.({ type: 'jinbao-serve-want-metrics', id });
    });
}

interface RateTakeRequest extends RateLimit {
  readonly type: 'jinbao-serve-rate-take';
  readonly id: number;
  readonly key: string;
}

interface RateTakeReply extends RateTake {
  readonly type: 'jinbao-serve-rate-taken';
  readonly id: number;
}

/** The worker's end of the IPC channel: the process itself in a worker, a fake in tests. */
export interface WorkerIpc {
  /** Send to the primary; `onError` when the message cannot go (the channel is closed). */
  send(message: unknown, onError: (err: Error) => void): void;
  onMessage(listener: (message: unknown) => void): void;
}

const processIpc: WorkerIpc = {
  send: (message, onError) => {
    // Without a callback a failed send is an 'error' event on the process, which would kill the worker.
    if (!process.connected || !process.send) return onError(new Error('the IPC channel to the primary is closed'));
    process.send(message, undefined, undefined, (err: Error | null) => err && onError(err));
  },
  onMessage: (listener) => void process.on('message', listener),
};

/** How long a worker waits for the primary's token before using its own bucket. */
export const RATE_TAKE_TIMEOUT_MS = 1000;

/**
 * In a worker: the rate-limit buckets of the primary (see `primaryBuckets`). Each take is one
 * request and one reply over the IPC channel, matched by id.
 *
 * Never blocks a request and never throws: when the primary does not answer within
 * `timeoutMs` (1 s), or the channel is gone (the primary is exiting), that one take goes to this
 * worker's own local buckets instead: for that request the limit is per worker, which beats both
 * refusing it and making it wait. `onFallback` hears each such take, with the reason.
 */
export function clusterBuckets(o: { ipc?: WorkerIpc; timeoutMs?: number; onFallback?: (why: string) => void } = {}): RateBuckets {
  const ipc = o.ipc ?? processIpc;
  const timeoutMs = o.timeoutMs ?? RATE_TAKE_TIMEOUT_MS;
  const local = new LocalRateBuckets();
  const pending = new Map<number, (reply: RateTake) => void>();
  let lastId = 0;
  let listening = false;
  const onMessage = (m: unknown) => {
    const r = m as RateTakeReply;
    if (r?.type !== 'jinbao-serve-rate-taken') return;
    pending.get(r.id)?.(r.ok ? { ok: true } : { ok: false, retryAfterSeconds: r.retryAfterSeconds ?? 1 });
  };
  return {
    take(key, limit) {
      if (!listening) {
        ipc.onMessage(onMessage);
        listening = true;
      }
      return new Promise<RateTake>((resolve) => {
        const id = ++lastId;
        const settle = (taken: RateTake) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(taken);
        };
        const fallback = (why: string) => {
          if (!pending.has(id)) return;
          o.onFallback?.(why);
          settle(local.takeNow(key, limit));
        };
        const timer = setTimeout(() => fallback(`the primary did not answer within ${timeoutMs} ms`), timeoutMs);
        timer.unref();
        pending.set(id, settle);
        try {
          ipc.send({ type: 'jinbao-serve-rate-take', id, key, perMinute: limit.perMinute, burst: limit.burst } satisfies RateTakeRequest, (err) => fallback(err.message));
        } catch (err) {
          fallback((err as Error).message);
        }
      });
    },
  };
}

/**
 * In the primary: the one set of buckets every worker takes from. `answer` gives the reply to a
 * worker's take request, or undefined for any other message.
 */
export function primaryBuckets(clock: () => number = Date.now): { answer(message: unknown): RateTakeReply | undefined } {
  const buckets = new LocalRateBuckets(clock);
  return {
    answer(message) {
      const m = message as RateTakeRequest;
      if (m?.type !== 'jinbao-serve-rate-take') return undefined;
      return { type: 'jinbao-serve-rate-taken', id: m.id, ...buckets.takeNow(m.key, { perMinute: m.perMinute, burst: m.burst }) };
    },
  };
}

export interface Primary {
  /** Resolves once every worker listens; rejects when one exits before. */
  readonly ready: Promise<WorkerListening>;
  /** Resolves when every worker has exited after `stop`. */
  stop(): Promise<void>;
}

/**
 * Fork `workers` copies of this command and give them `tls`. A worker that dies while serving is
 * replaced (logged); one that dies before listening fails the start.
 */
export function runPrimary(o: { workers: number; tls: ServiceTls; log: (line: Record<string, unknown>) => void }): Primary {
  let stopping = false;
  let starting = true;
  const live = new Set<Worker>();
  let readyCount = 0;
  let resolveReady!: (l: WorkerListening) => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<WorkerListening>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  let allGone: (() => void) | undefined;
  // One worker runs the housekeeping; when it dies, its replacement takes it over.
  let housekeeper: Worker | undefined;
  const aggregator = new AggregatorRegistry();
  const buckets = primaryBuckets();

  const fork = () => {
    const w = cluster.fork();
    live.add(w);
    housekeeper ??= w;
    w.on('message', (m: unknown) => {
      const taken = buckets.answer(m);
      if (taken) return void (w.isConnected() && w.send(taken));
      if ((m as { type?: string })?.type === 'jinbao-serve-want-metrics') {
        const id = (m as { id: number }).id;
        return void aggregator.clusterMetrics().then(
          (text) => w.isConnected() && w.send({ type: 'jinbao-serve-metrics', id, text } satisfies MetricsReply),
          (err: Error) => w.isConnected() && w.send({ type: 'jinbao-serve-metrics', id, error: err.message } satisfies MetricsReply),
        );
      }
      if ((m as { type?: string })?.type === 'jinbao-serve-want-tls') return void w.send({ type: 'jinbao-serve-tls', tls: o.tls, housekeeping: w === housekeeper } satisfies TlsMessage);
      if ((m as ReadyMessage)?.type !== 'jinbao-serve-ready') return;
      if (++readyCount === o.workers) {
        starting = false;
        resolveReady((m as ReadyMessage).listening);
      }
    });
    w.on('exit', (code, signal) => {
      live.delete(w);
      if (w === housekeeper) housekeeper = undefined;
      if (live.size === 0) allGone?.();
      if (stopping) return;
      if (starting) {
        stopping = true;
        for (const other of live) other.process.kill('SIGTERM');
        rejectReady(new Error(`a serve worker exited before listening (${signal ?? `exit ${code}`}); its error is above`));
        return;
      }
      o.log({ at: new Date().toISOString(), level: 'error', msg: 'serve worker exited; starting another', pid: w.process.pid, code, signal });
      fork();
    });
  };
  // Workers accept from the shared socket themselves: handing each connection over from the primary
  // (the round-robin default) costs an IPC message per connection, which short OCSP connections feel.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < o.workers; i++) fork();
  return {
    ready,
    stop: () => {
      stopping = true;
      if (live.size === 0) return Promise.resolve();
      const gone = new Promise<void>((resolve) => (allGone = resolve));
      for (const w of live) w.process.kill('SIGTERM');
      return gone;
    },
  };
}
