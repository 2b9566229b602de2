/**
 * Load + validate + allocate the national inventory, in fresh processes so module loading counts.
 *
 *   npx tsx bench/inventory.ts [--runs N] [--smoke]
 *
 * Measured paths:
 *  - built-in: generate the national inventory from the division data, validate, allocate;
 *  - file: the same inventory read from its exported YAML;
 *  - baseline: parsing that YAML with the `yaml` package's document API, the obvious first choice.
 * Each child runs the compiled code in dist/ (what `npx jinbao` runs) and reports its wall time
 * including module imports (the cold-start cost a user sees) and its peak RSS; `runs` children per
 * path (default 5), interleaved. --smoke uses dist/ as it is (no rebuild) and one run per path.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchArgs, compare, describe, report, stats, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 5, smokeRuns: 1 });
const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-'));
const file = join(dir, 'national.yaml');

const child = (mode: string) => `
const t0 = performance.now();
const { loadFabric } = await import('./dist/fabric/index.js');
let fabric;
if (${JSON.stringify(mode)} === 'built-in') fabric = loadFabric();
else if (${JSON.stringify(mode)} === 'file') fabric = loadFabric(${JSON.stringify(file)});
else {
  const { parseDocument } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const { validateInventory } = await import('./dist/fabric/index.js');
  fabric = validateInventory(parseDocument(readFileSync(${JSON.stringify(file)}, 'utf8')).toJS(), 'baseline').fabric;
}
const r = fabric.allocate();
if (r.problems.length) throw new Error('allocation problems');
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024, sites: fabric.sites.length, prefixes: r.ledger.size }));
`;

interface Sample {
  readonly ms: number;
  readonly rssMb: number;
  readonly sites: number;
  readonly prefixes: number;
}

function measureOnce(mode: string): Sample {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(mode)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Sample;
}

try {
  // Measure what users run: the compiled code in dist/.
  if (!smoke) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  else if (!existsSync('dist/fabric/index.js')) throw new Error('dist/ is not built: run npm run build first');
  writeFileSync(file, execFileSync(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', 'inventory', 'export'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const samples: Record<'built-in' | 'file' | 'baseline', Sample[]> = { 'built-in': [], file: [], baseline: [] };
  for (let i = 0; i < runs; i++) for (const mode of ['built-in', 'file', 'baseline'] as const) samples[mode].push(measureOnce(mode));
  const ms = (xs: Sample[]) => xs.map((x) => x.ms);
  const rss = (xs: Sample[]) => xs.map((x) => x.rssMb);
  const { sites, prefixes } = samples['built-in'][0]!;
  const fileVsBaseline = compare({
    subject: 'load + validate + allocate from the YAML file',
    baseline: "the same YAML parsed with the yaml package's document API, then validated and allocated",
    unit: 'ms',
    work: `${sites} sites, ${prefixes} prefixes, a fresh process each`,
    subjectSamples: ms(samples.file),
    baselineSamples: ms(samples.baseline),
  });
  console.log(`national inventory: ${sites} sites, ${prefixes} prefixes allocated`);
  console.log(`built-in: load + validate + allocate ${describe(stats(ms(samples['built-in'])), 'ms', 0)}, peak RSS ${describe(stats(rss(samples['built-in'])), 'MB', 0)} (target ≤ 1000 ms)`);
  console.log(report(fileVsBaseline, 0));
  console.log(`peak RSS from the file ${describe(stats(rss(samples.file)), 'MB', 0)}; baseline ${describe(stats(rss(samples.baseline)), 'MB', 0)}`);
  const builtIn = stats(ms(samples['built-in']));
  console.log(
    JSON.stringify({
      bench: 'inventory',
      runs,
      smoke,
      sites,
      prefixes,
      builtIn: { medianMs: Math.round(builtIn.median), minMs: Math.round(builtIn.min), maxMs: Math.round(builtIn.max), spreadPct: Math.round(builtIn.spreadPct), peakRssMb: Math.round(stats(rss(samples['built-in'])).max) },
      fileVsBaseline: summarize(fileVsBaseline),
      targetMs: 1000,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
