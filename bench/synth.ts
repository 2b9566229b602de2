/**
 * Whole-nation cdktf synthesis (targets: cold ≤ 10 s and ≤ 1 GB peak RSS; re-synthesis after one
 * site changed ≤ 1.5 s), against the naive way of doing the same work, in the same run.
 *
 *   npx tsx bench/synth.ts
 *
 * Each measurement is a fresh `tsx` process (cold: module loading included), timed from spawn to exit,
 * with its peak RSS (getrusage maxRSS):
 *  - jinbao cold: deep provider imports, one App per batch of 40 sites, creation traces off, two
 *    threads, into an empty folder (what `jinbao up` does on a new machine);
 *  - jinbao re-synth: the same folder after one site (440100) changed class: one stack rewritten;
 *  - jinbao no-op: nothing changed (every later `jinbao up`);
 *  - naive: whole-package `@cdktf/provider-kubernetes` import, one App holding every stack, cdktf's
 *    defaults (creation traces, preparing pass), every stack rebuilt.
 * The naive output is checked to be byte-identical to jinbao's for three sites.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Mode = 'cold' | 'changed' | 'naive';

async function child(mode: Mode, outDir: string): Promise<void> {
  const started = performance.now();
  const { loadFabric, inventorySchema, Fabric, builtInInventory } = await import('../fabric/index.js');
  let fabric = loadFabric();
  if (mode === 'changed') {
    const input = structuredClone(builtInInventory());
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

function measure(mode: Mode, outDir: string): Measured {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, outDir], { encoding: 'utf8', timeout: 600_000 });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return { wallMs, ...(JSON.parse(line) as Omit<Measured, 'wallMs'>) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'jinbao-bench-synth-'));
  try {
    const jinbaoOut = join(root, 'jinbao');
    const naiveOut = join(root, 'naive');
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const load = loadavg()[0]!;
    console.log(`machine: ${availableParallelism()} cores, load average ${load.toFixed(1)} at start (wall times grow with it; CPU times do not)`);
    const line = (name: string, m: Measured) =>
      console.log(`${name.padEnd(17)}${s(m.wallMs)} process, ${s(m.synthMs)} synthesis, ${s(m.cpuMs)} CPU, peak RSS ${m.maxRssMb.toFixed(0)} MB, ${m.rewritten} stacks written`);
    const cold = measure('cold', jinbaoOut);
    line('jinbao cold:', cold);
    const noop = measure('cold', jinbaoOut);
    line('jinbao no-op:', noop);
    const changed = measure('changed', jinbaoOut);
    line('jinbao re-synth:', changed);
    const naive = measure('naive', naiveOut);
    line('naive:', naive);
    const same = ['000000', '440300', '610000'].every(
      (id) => readFileSync(join(naiveOut, 'stacks', id, 'cdk.tf.json'), 'utf8') === readFileSync(join(jinbaoOut, 'stacks', id, 'cdk.tf.json'), 'utf8'),
    );
    console.log(`naive output identical to jinbao's for 000000, 440300, 610000: ${same}`);
    const summary = {
      bench: 'synth',
      sites: cold.rewritten,
      resources: cold.resources,
      coldMs: Math.round(cold.wallMs),
      coldSynthMs: Math.round(cold.synthMs),
      coldCpuMs: Math.round(cold.cpuMs),
      coldPeakRssMb: Math.round(cold.maxRssMb),
      resynthOneChangedMs: Math.round(changed.wallMs),
      resynthOneChangedSynthMs: Math.round(changed.synthMs),
      noopMs: Math.round(noop.wallMs),
      naiveMs: Math.round(naive.wallMs),
      naiveSynthMs: Math.round(naive.synthMs),
      naiveCpuMs: Math.round(naive.cpuMs),
      naivePeakRssMb: Math.round(naive.maxRssMb),
      loadAverageAtStart: +load.toFixed(1),
      ratioColdVsNaive: +(naive.wallMs / cold.wallMs).toFixed(2),
      ratioColdCpuVsNaive: +(naive.cpuMs / cold.cpuMs).toFixed(2),
      ratioResynthVsNaive: +(naive.wallMs / changed.wallMs).toFixed(2),
      ratioRssNaiveVsCold: +(naive.maxRssMb / cold.maxRssMb).toFixed(2),
      identicalOutput: same,
      targets: { coldMs: 10_000, coldPeakRssMb: 1024, resynthMs: 1_500 },
    };
    console.log(JSON.stringify(summary));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) await child(process.argv[i + 1] as Mode, process.argv[i + 2]!);
else await main();
