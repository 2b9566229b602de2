/**
 * The whole compliance catalogue over the national inventory (target ≤ 5 s).
 *
 *   npx tsx bench/comply.ts [--runs N]
 *
 * Setup: `jinbao up` into a temporary state (demo PKI, replica certificates, audit log), not timed.
 * Measured, in-process, N runs each:
 *  - gather: the adapter reading every feature's state (366 stacks rendered, PKI, audit chain, rules);
 *  - catalogue: running all controls over the gathered inputs (promtool included);
 *  - total: gather + catalogue, what `jinbao comply` spends after start-up;
 *  - baseline kpi: computeKpis alone over the same fabric and live facts (the plan's indicators);
 *  - per-site loop: the site-scoped controls run once per site with --site, against one national run
 *    of the same controls (what a dashboard looping over sites would pay).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE, runCatalogue } from '../compliance/index.js';
import { computeKpis } from '../fabric/index.js';
import { silent } from '../lib/context.js';
import { gatherCompliance } from '../orchestration/compliance-inputs.js';
import { LocalOpsContext } from '../orchestration/context.js';
import { gatherLiveFacts } from '../orchestration/live-facts.js';
import { runUp } from '../orchestration/up.js';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 5;
const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-comply-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async <T>(fn: () => Promise<T> | T): Promise<[number, T]> => {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
};

try {
  console.log(`setup: jinbao up into ${dir} (not timed)`);
  const ctx = new LocalOpsContext({ stateDir: join(dir, 'state') });
  await runUp(ctx, { outDir: join(dir, 'out'), say: silent, note: silent });
  const fabric = ctx.fabric();
  const gatherMs: number[] = [];
  const catalogueMs: number[] = [];
  const totalMs: number[] = [];
  const kpiMs: number[] = [];
  let summary: Awaited<ReturnType<typeof runCatalogue>>['summary'] | undefined;
  for (let i = 0; i < runs; i++) {
    const [g, gathered] = await time(() => gatherCompliance(ctx));
    const [c, report] = await time(() => runCatalogue(gathered.inputs));
    gathered.cleanup();
    gatherMs.push(g);
    catalogueMs.push(c);
    totalMs.push(g + c);
    summary = report.summary;
    const [k] = await time(() => computeKpis(fabric, gatherLiveFacts(ctx)));
    kpiMs.push(k);
  }
  const gathered = await gatherCompliance(ctx);
  const siteScoped = CATALOGUE.filter((c) => c.scope === 'site');
  const [nationalSiteScoped] = await time(() => runCatalogue(gathered.inputs, { catalogue: siteScoped }));
  const [perSite] = await time(async () => {
    for (const s of fabric.sites) await runCatalogue(gathered.inputs, { site: s.id, catalogue: siteScoped });
  });
  gathered.cleanup();
  await ctx.close();

  const rss = process.resourceUsage().maxRSS / 1024;
  const result = {
    sites: fabric.sites.length,
    controls: summary!.controls,
    byStatus: summary!.byStatus,
    runs,
    medianMs: { gather: median(gatherMs), catalogue: median(catalogueMs), total: median(totalMs), baselineKpi: median(kpiMs), siteScopedNational: nationalSiteScoped, siteScopedPerSiteLoop: perSite },
    ratios: { totalVsKpi: +(median(totalMs) / median(kpiMs)).toFixed(1), perSiteLoopVsNational: +(perSite / nationalSiteScoped).toFixed(1) },
    peakRssMb: Math.round(rss),
    targetMs: 5000,
    withinTarget: median(totalMs) <= 5000,
  };
  console.log(`gather (stacks for ${result.sites} sites, PKI, audit, rules): median ${result.medianMs.gather.toFixed(0)} ms`);
  console.log(`catalogue (${result.controls} controls, promtool included): median ${result.medianMs.catalogue.toFixed(0)} ms`);
  console.log(`total: median ${result.medianMs.total.toFixed(0)} ms (target ≤ 5000 ms: ${result.withinTarget ? 'met' : 'NOT met'})`);
  console.log(`baseline computeKpis alone: median ${result.medianMs.baselineKpi.toFixed(1)} ms (total is ${result.ratios.totalVsKpi}x)`);
  console.log(`site-scoped controls: one national run ${nationalSiteScoped.toFixed(0)} ms; once per site (${result.sites} runs) ${perSite.toFixed(0)} ms (${result.ratios.perSiteLoopVsNational}x)`);
  console.log(`peak RSS ${result.peakRssMb} MB`);
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
