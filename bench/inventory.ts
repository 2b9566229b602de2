/**
 * Load + validate + allocate the national inventory, in fresh processes so module loading counts.
 *
 *   npx tsx bench/inventory.ts [--runs N]
 *
 * Measured paths:
 *  - built-in: generate the national inventory from the division data, validate, allocate;
 *  - file: the same inventory read from its exported YAML;
 *  - baseline: parsing that YAML with the `yaml` package's document API, the obvious first choice.
 * Each child runs the compiled code in dist/ (what `npx jinbao` runs) and reports its wall time
 * including module imports (the cold-start cost a user sees) and its peak RSS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 5;
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

function measure(mode: string): { ms: number[]; rssMb: number[]; sites: number; prefixes: number } {
  const ms: number[] = [];
  const rssMb: number[] = [];
  let last = { sites: 0, prefixes: 0 };
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(mode)], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    ms.push(r.ms);
    rssMb.push(r.rssMb);
    last = { sites: r.sites, prefixes: r.prefixes };
  }
  return { ms, rssMb, ...last };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  // Measure what users run: the compiled code in dist/.
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  writeFileSync(file, execFileSync(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', 'inventory', 'export'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const builtIn = measure('built-in');
  const fromFile = measure('file');
  const baseline = measure('baseline');
  const summary = {
    runs,
    sites: builtIn.sites,
    prefixes: builtIn.prefixes,
    builtIn: { medianMs: Math.round(median(builtIn.ms)), peakRssMb: Math.round(Math.max(...builtIn.rssMb)) },
    file: { medianMs: Math.round(median(fromFile.ms)), peakRssMb: Math.round(Math.max(...fromFile.rssMb)) },
    baselineYamlDocument: { medianMs: Math.round(median(baseline.ms)), peakRssMb: Math.round(Math.max(...baseline.rssMb)) },
    fileVsBaseline: Number((median(baseline.ms) / median(fromFile.ms)).toFixed(1)),
    targetMs: 1000,
  };
  console.log(`national inventory: ${summary.sites} sites, ${summary.prefixes} prefixes allocated`);
  console.log(`built-in: load + validate + allocate ${summary.builtIn.medianMs} ms (median of ${runs}), peak RSS ${summary.builtIn.peakRssMb} MB`);
  console.log(`from YAML file: ${summary.file.medianMs} ms, peak RSS ${summary.file.peakRssMb} MB`);
  console.log(`baseline (yaml document parser): ${summary.baselineYamlDocument.medianMs} ms → file path is ${summary.fileVsBaseline}x faster`);
  console.log(JSON.stringify(summary));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
