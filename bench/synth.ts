/**
 * Whole-nation cdktf synthesis (targets: cold ≤ 10 s and ≤ 1 GB peak RSS; re-synthesis after one
 * site changed ≤ 1.5 s), against the naive way of doing the same work, in the same run.
 *
 *   npx tsx bench/synth.ts [--runs N] [--smoke]
 *
 * Each measurement is a fresh `tsx` process (cold: module loading included), timed from spawn to exit,
 * with its peak RSS (getrusage maxRSS), `runs` samples of each (default 3), interleaved:
 *  - jinbao cold: deep provider imports, one App per batch of 40 sites, creation traces off, two
 *    threads, into an empty folder (what `jinbao up` does on a new machine);
 *  - jinbao no-op: the same folder again, nothing changed (every later `jinbao up`);
 *  - jinbao re-synth: that folder after one site (440100) changed class: one stack rewritten;
 *  - baseline, naive: whole-package `@cdktf/provider-kubernetes` import, one App holding every
 *    stack, cdktf's defaults (creation traces, preparing pass), every stack rebuilt, into an empty
 *    folder: the same stacks as jinbao cold.
 * The naive output is checked to be byte-identical to jinbao's for three sites.
 * --smoke synthesizes the small test inventory (5 sites) instead of the nation.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, compare, describe, report, stats, summarize } from './lib.js';

type Mode = 'cold' | 'changed' | 'naive';

async function child(mode: Mode, outDir: string, small: boolean): Promise<void> {
  const started = performance.now();
  const { inventorySchema, Fabric, builtInInventory } = await import('../fabric/index.js');
  const { smallInventory } = await import('../fabric/test/builders.js');
  const base = small ? smallInventory() : builtInInventory();
  let fabric = Fabric.build(inventorySchema.parse(base)).fabric!;
  if (mode === 'changed') {
    const input = structuredClone(base);
    const site = input.sites.find((s) => s.id === '440100')!;
    site.dataCenter = { ...site.dataCenter, class: site.dataCenter.class === 'A' ? 'B' : 'A' };
    fabric = Fabric.build(inventorySchema.parse(input)).fabric!;
  }
  const { allocations } = fabric.allocate();
  let synthMs: number;
  let rewritten: number;
  let resources: number;
  if (mode === 'naive') {
    const { synthesizeNaively } = await import('./synth-naive.js');
    const t0 = performance.now();
    const r = synthesizeNaively(fabric, allocations, outDir);
    synthMs = performance.now() - t0;
    rewritten = r.stacks;
    resources = r.resources;
  } else {
    const { synthesizeCdktf } = await import('../stacks/cdktf/index.js');
    const t0 = performance.now();
    const r = await synthesizeCdktf(fabric, allocations, { outDir });
    synthMs = performance.now() - t0;
    rewritten = r.rewritten.length;
    resources = r.resources;
  }
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ synthMs, inProcessMs: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000, rewritten, resources, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

interface Measured {
  readonly wallMs: number;
  readonly synthMs: number;
  /** CPU time of the whole process, all threads: independent of other load on the machine. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly rewritten: number;
  readonly resources: number;
}

function measure(mode: Mode, outDir: string, small: boolean): Measured {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, outDir, small ? 'small' : 'nation'], { encoding: 'utf8', timeout: 600_000 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return { wallMs, ...(JSON.parse(line) as Omit<Measured, 'wallMs'>) };
}

async function main(): Promise<void> {
  const { runs, smoke } = benchArgs({ runs: 3, smokeRuns: 1 });
  const root = mkdtempSync(join(tmpdir(), 'jinbao-bench-synth-'));
  try {
    const load = loadavg()[0]!;
    console.log(`machine: ${availableParallelism()} cores, load average ${load.toFixed(1)} at start (wall times grow with it; CPU times do not)`);
    const samples: Record<'cold' | 'noop' | 'changed' | 'naive', Measured[]> = { cold: [], noop: [], changed: [], naive: [] };
    let same = true;
    const compared = smoke ? ['000000', '440300'] : ['000000', '440300', '610000'];
    for (let i = 0; i < runs; i++) {
      const jinbaoOut = join(root, `jinbao-${i}`);
      const naiveOut = join(root, `naive-${i}`);
      samples.cold.push(measure('cold', jinbaoOut, smoke));
      samples.naive.push(measure('naive', naiveOut, smoke));
      samples.noop.push(measure('cold', jinbaoOut, smoke));
      samples.changed.push(measure('changed', jinbaoOut, smoke));
      // The compared sites are not the one that changed, so jinbao's files for them are still the cold ones.
      const stack = (out: string, id: string) => readFileSync(join(out, 'stacks', id, 'cdk.tf.json'), 'utf8');
      same &&= compared.every((id) => stack(naiveOut, id) === stack(jinbaoOut, id));
      rmSync(jinbaoOut, { recursive: true, force: true });
      rmSync(naiveOut, { recursive: true, force: true });
    }
    const wall = (ms: Measured[]) => ms.map((m) => m.wallMs);
    const cpu = (ms: Measured[]) => ms.map((m) => m.cpuMs);
    const rss = (ms: Measured[]) => ms.map((m) => m.maxRssMb);
    const sites = samples.cold[0]!.rewritten;
    const work = `${sites} stacks, ${samples.cold[0]!.resources} resources, fresh process, empty folder`;
    const coldVsNaive = compare({ subject: 'jinbao cold synthesis', baseline: 'naive synthesis of the same stacks', unit: 'ms', work, subjectSamples: wall(samples.cold), baselineSamples: wall(samples.naive) });
    const cpuVsNaive = compare({ subject: 'jinbao cold synthesis, CPU time', baseline: 'naive synthesis, CPU time', unit: 'ms', work, subjectSamples: cpu(samples.cold), baselineSamples: cpu(samples.naive) });
    const rssVsNaive = compare({ subject: 'jinbao cold synthesis, peak RSS', baseline: 'naive synthesis, peak RSS', unit: 'MB', work, subjectSamples: rss(samples.cold), baselineSamples: rss(samples.naive) });
    const changedVsNaive = compare({ subject: 'jinbao re-synthesis after one site changed (1 stack written)', baseline: 'naive synthesis, which rebuilds every stack', unit: 'ms', work: `the same inventory, ${sites} stacks`, subjectSamples: wall(samples.changed), baselineSamples: wall(samples.naive) });
    for (const c of [coldVsNaive, cpuVsNaive, rssVsNaive, changedVsNaive]) console.log(report(c, 0));
    console.log(`jinbao no-op (nothing changed): ${describe(stats(wall(samples.noop)), 'ms', 0)}, ${samples.noop[0]!.rewritten} stacks written`);
    console.log(`naive output identical to jinbao's for ${compared.join(', ')}: ${same}`);
    const median = (ms: Measured[], f: (m: Measured) => number) => stats(ms.map(f)).median;
    console.log(
      JSON.stringify({
        bench: 'synth',
        runs,
        smoke,
        sites,
        resources: samples.cold[0]!.resources,
        loadAverageAtStart: +load.toFixed(1),
        cold: summarize(coldVsNaive),
        coldCpu: summarize(cpuVsNaive),
        coldPeakRss: summarize(rssVsNaive),
        resynthOneChanged: summarize(changedVsNaive),
        noopMs: Math.round(median(samples.noop, (m) => m.wallMs)),
        identicalOutput: same,
        targets: { coldMs: 10_000, coldPeakRssMb: 1024, resynthMs: 1_500 },
        withinTargets: smoke ? null : median(samples.cold, (m) => m.wallMs) <= 10_000 && median(samples.cold, (m) => m.maxRssMb) <= 1024 && median(samples.changed, (m) => m.wallMs) <= 1_500,
      }),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1] as Mode, process.argv[i + 2]!, process.argv[i + 3] === 'small');
else await main();
