/**
 * What every benchmark shares: its arguments (`--runs N`, `--smoke`), timing samples, and the
 * summary of a sample set (median and spread) and of a comparison with its baseline.
 *
 * A benchmark measures its subject and its baseline in the same run, on the same amount of work,
 * `runs` times each, and reports medians with their spread; the ratio is of the medians.
 * `--smoke` shrinks every size to a token amount so that a test can run the benchmark in seconds
 * (bench/test/smoke.test.ts): its figures mean nothing, it only proves the benchmark still runs.
 */

export interface BenchArgs {
  /** Samples per measurement. */
  readonly runs: number;
  /** Token sizes: proves the benchmark runs; its figures mean nothing. */
  readonly smoke: boolean;
}

export const MAX_RUNS = 1000;

/** Thrown for bad arguments: the benchmark prints it and exits 2. */
export class BenchArgumentError extends Error {}

/**
 * `--runs N` (decimal digits only, 1..MAX_RUNS) and `--smoke`; anything else is refused.
 * `extraFlags` names flags a benchmark accepts besides these (without values).
 */
export function parseBenchArgs(argv: readonly string[], defaults: { runs: number; smokeRuns?: number }, extraFlags: readonly string[] = []): BenchArgs & { readonly flags: ReadonlySet<string> } {
  let runs: number | undefined;
  let smoke = false;
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--smoke') smoke = true;
    else if (a === '--runs' || a.startsWith('--runs=')) {
      const value = a === '--runs' ? argv[++i] : a.slice('--runs='.length);
      runs = parseRuns(value);
    } else if (extraFlags.includes(a)) flags.add(a);
    else throw new BenchArgumentError(`unknown argument: got "${a}", want --runs N or --smoke${extraFlags.length ? ` or ${extraFlags.join(', ')}` : ''}`);
  }
  return { runs: runs ?? (smoke ? (defaults.smokeRuns ?? 2) : defaults.runs), smoke, flags };
}

/** A run count: decimal digits only (no sign, hex, exponent or fraction), 1..MAX_RUNS. */
export function parseRuns(value: string | undefined): number {
  if (value === undefined) throw new BenchArgumentError(`--runs: got nothing, want a whole number of runs from 1 to ${MAX_RUNS}, e.g. --runs 5`);
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RUNS) throw new BenchArgumentError(`--runs: got "${value}", want a whole number of runs from 1 to ${MAX_RUNS} in decimal digits, e.g. --runs 5`);
  return n;
}

/** Parse the arguments or print why not and exit 2. */
export function benchArgs(defaults: { runs: number; smokeRuns?: number }, extraFlags: readonly string[] = []): BenchArgs & { readonly flags: ReadonlySet<string> } {
  try {
    return parseBenchArgs(process.argv.slice(2), defaults, extraFlags);
  } catch (err) {
    if (!(err instanceof BenchArgumentError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

export interface Stats {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median, in percent: how far apart the samples are. */
  readonly spreadPct: number;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  const min = s[0]!;
  const max = s[s.length - 1]!;
  return { n: s.length, median, min, max, spreadPct: median === 0 ? 0 : ((max - min) / Math.abs(median)) * 100 };
}

/** `fn` timed `runs` times (milliseconds), each sample awaited before the next starts. */
export async function sampleMs(runs: number, fn: (run: number) => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** "12.3 ms (median of 5, 11.9–13.0, spread 9%)" with the unit and digits given. */
export function describe(s: Stats, unit: string, digits = 1): string {
  return `${s.median.toFixed(digits)} ${unit} (median of ${s.n}, ${s.min.toFixed(digits)}–${s.max.toFixed(digits)}, spread ${s.spreadPct.toFixed(0)}%)`;
}

export interface Comparison {
  readonly subject: string;
  readonly baseline: string;
  /** The unit of both sample sets, e.g. "ms" or "certificates/s". */
  readonly unit: string;
  /** What both did: the same amount of work, stated. */
  readonly work: string;
  readonly subjectStats: Stats;
  readonly baselineStats: Stats;
  /** subject median / baseline median. */
  readonly ratio: number;
}

export function compare(o: { subject: string; baseline: string; unit: string; work: string; subjectSamples: readonly number[]; baselineSamples: readonly number[] }): Comparison {
  const subjectStats = stats(o.subjectSamples);
  const baselineStats = stats(o.baselineSamples);
  return { subject: o.subject, baseline: o.baseline, unit: o.unit, work: o.work, subjectStats, baselineStats, ratio: subjectStats.median / baselineStats.median };
}

/** Lines for a comparison: the subject, its named baseline, and the ratio of the medians. */
export function report(c: Comparison, digits = 1): string {
  return [
    `${c.subject} (${c.work}): ${describe(c.subjectStats, c.unit, digits)}`,
    `  baseline, ${c.baseline}: ${describe(c.baselineStats, c.unit, digits)}`,
    `  ratio of medians ${c.ratio.toFixed(2)}`,
  ].join('\n');
}

/** A comparison as JSON-friendly numbers. */
export function summarize(c: Comparison): Record<string, unknown> {
  const round = (s: Stats) => ({ n: s.n, median: +s.median.toPrecision(4), min: +s.min.toPrecision(4), max: +s.max.toPrecision(4), spreadPct: Math.round(s.spreadPct) });
  return { subject: c.subject, baseline: c.baseline, unit: c.unit, work: c.work, subjectStats: round(c.subjectStats), baselineStats: round(c.baselineStats), ratio: +c.ratio.toFixed(3) };
}
