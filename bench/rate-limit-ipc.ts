/**
 * What sharing the ACME rate-limit buckets of `jinbao serve --workers N` costs a request, in one
 * run with its baseline, `runs` samples each (interleaved, so load on the machine falls on subject
 * and baseline alike):
 *   - subject: a token taken through the cluster primary (clusterBuckets in a node:cluster worker,
 *     primaryBuckets in the primary, as serve wires them): one IPC message there and one back;
 *   - baseline: the same take from buckets in the worker's own process (serve without --workers).
 * Both sequentially (one take awaited before the next) and with 16 takes in flight, over 64 keys
 * (client addresses) whose limit is never reached, so every take is granted.
 * Primary and worker share the machine's two cores.
 * Run: npx tsx bench/rate-limit-ipc.ts [--runs N] [--smoke]  (prints human lines, then one JSON summary)
 */
import cluster from 'node:cluster';
import os from 'node:os';
import { LocalRateBuckets, type RateBuckets } from '../pki/acme/index.js';
import { clusterBuckets, primaryBuckets } from '../service/cluster.js';
import { benchArgs, compare, summarize, type Comparison } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 5 });
const perSample = smoke ? 200 : 20_000;
const LIMIT = { perMinute: 1_000_000_000, burst: 1_000_000_000 };
const KEYS = Array.from({ length: 64 }, (_, i) => `address:198.51.100.${i}`);

/** Takes a second: `total` takes, `inFlight` at a time. */
async function takesPerSecond(buckets: RateBuckets, total: number, inFlight: number): Promise<number> {
  let next = 0;
  let refused = 0;
  const lane = async () => {
    while (next < total) {
      const i = next++;
      if (!(await buckets.take(KEYS[i % KEYS.length]!, LIMIT)).ok) refused++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - t0) / 1000;
  if (refused) throw new Error(`${refused} takes refused: want every take granted (the limit is out of reach)`);
  return total / seconds;
}

async function measure(): Promise<void> {
  let fallbacks = 0;
  const shared = clusterBuckets({ onFallback: () => fallbacks++ });
  const local = new LocalRateBuckets();
  await takesPerSecond(shared, perSample / 10, 16);
  await takesPerSecond(local, perSample / 10, 16);
  const results: Record<string, unknown> = {};
  const rows: Comparison[] = [];
  for (const [label, inFlight] of [['sequential', 1], ['16 in flight', 16]] as const) {
    const subject: number[] = [];
    const baseline: number[] = [];
    for (let r = 0; r < runs; r++) {
      subject.push(await takesPerSecond(shared, perSample, inFlight));
      baseline.push(await takesPerSecond(local, perSample, inFlight));
    }
    const c = compare({
      subject: `rate-limit take through the cluster primary (IPC), ${label}`,
      baseline: `the same take from buckets in the worker's own process, ${label}`,
      unit: 'takes/s',
      work: `${perSample} takes over ${KEYS.length} keys per sample`,
      subjectSamples: subject,
      baselineSamples: baseline,
    });
    rows.push(c);
    results[label] = summarize(c);
  }
  if (fallbacks) throw new Error(`${fallbacks} takes fell back to the worker's buckets: the primary did not answer within 1 s`);
  const cell = (s: string, w: number) => s.padStart(w);
  const us = (perSecond: number) => (1e6 / perSecond).toFixed(2);
  console.log(`${'take'.padEnd(14)} ${cell('in-process', 12)} ${cell('via primary', 12)} ${cell('cost ratio', 11)}`);
  for (const [i, c] of rows.entries()) {
    const label = i === 0 ? 'sequential' : '16 in flight';
    console.log(`${label.padEnd(14)} ${cell(`${us(c.baselineStats.median)} µs`, 12)} ${cell(`${us(c.subjectStats.median)} µs`, 12)} ${cell(`${(1 / c.ratio).toFixed(0)}×`, 11)}`);
  }
  console.log(`(time per take from medians of ${runs} samples of ${perSample} takes; cost ratio = via primary / in-process; takes/s and spreads in the JSON below)`);
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log(JSON.stringify({ bench: 'rate-limit-ipc', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), results }));
}

if (cluster.isWorker) {
  try {
    await measure();
  } finally {
    process.disconnect();
  }
} else {
  const buckets = primaryBuckets();
  const worker = cluster.fork();
  worker.on('message', (m: unknown) => {
    const taken = buckets.answer(m);
    if (taken && worker.isConnected()) worker.send(taken);
  });
  const code = await new Promise<number>((resolve) => worker.on('exit', (c: number | null) => resolve(c ?? 1)));
  process.exitCode = code;
}
