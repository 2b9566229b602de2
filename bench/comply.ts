/**
 * The whole compliance catalogue over the national inventory (target ≤ 5 s), `runs` samples each.
 *
 *   npx tsx bench/comply.ts [--runs N] [--smoke]
 *
 * Setup: `jinbao up` into a temporary state (demo PKI, replica certificates, audit log), not timed.
 * Measured, in-process:
 *  - gather: the adapter reading every feature's state (366 stacks rendered, PKI, audit chain, rules);
 *  - catalogue: running all controls over the gathered inputs (promtool included);
 *  - total: gather + catalogue, what `jinbao comply` spends after start-up, against its 5 s target;
 *  - the site-scoped controls in one national run, against the baseline: the same controls over the
 *    same gathered inputs run once per site with --site (what a dashboard looping over sites pays).
 *    Both check every site once: the same work, two ways.
 * --smoke runs it over the small test inventory (5 sites) with 2 samples.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATALOGUE, runCatalogue } from '../compliance/index.js';
import { silent } from '../lib/context.js';
import { gatherCompliance } from '../orchestration/compliance-inputs.js';
import { LocalOpsContext } from '../orchestration/context.js';
import { runUp } from '../orchestration/up.js';
import { smallInventory } from '../testkit/index.js';
import { benchArgs, compare, describe, report, stats, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 5 });
const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-comply-'));

const time = async <T>(fn: () => Promise<T> | T): Promise<[number, T]> => {
  const t0 = performance.now();
  const v = await fn();
  return [performance.now() - t0, v];
};

try {
  const inventory = smoke ? join(dir, 'small.json') : undefined;
  if (inventory) writeFileSync(inventory, JSON.stringify(smallInventory()));
  console.log(`setup: jinbao up into ${dir}${smoke ? ' (small test inventory)' : ''} (not timed)`);
  const ctx = new LocalOpsContext({ stateDir: join(dir, 'state'), inventory });
  await runUp(ctx, { outDir: join(dir, 'out'), say: silent, note: silent });
  const fabric = ctx.fabric();
  const gatherMs: number[] = [];
  const catalogueMs: number[] = [];
  const totalMs: number[] = [];
  let summary: Awaited<ReturnType<typeof runCatalogue>>['summary'] | undefined;
  const siteScoped = CATALOGUE.filter((c) => c.scope === 'site');
  const nationalMs: number[] = [];
  const perSiteMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [g, gathered] = await time(() => gatherCompliance(ctx));
    const [c, result] = await time(() => runCatalogue(gathered.inputs));
    gatherMs.push(g);
    catalogueMs.push(c);
    totalMs.push(g + c);
    summary = result.summary;
    // Alternate which goes first, so warm-up and load drift do not favour one of the two.
    const nationalRun = () => time(() => runCatalogue(gathered.inputs, { catalogue: siteScoped }));
    const perSiteRun = () =>
      time(async () => {
        for (const s of fabric.sites) await runCatalogue(gathered.inputs, { site: s.id, catalogue: siteScoped });
      });
    let national: number;
    let perSite: number;
    if (i % 2 === 0) {
      [national] = await nationalRun();
      [perSite] = await perSiteRun();
    } else {
      [perSite] = await perSiteRun();
      [national] = await nationalRun();
    }
    nationalMs.push(national);
    perSiteMs.push(perSite);
    gathered.cleanup();
  }
  await ctx.close();

  const total = stats(totalMs);
  const loop = compare({
    subject: `${siteScoped.length} site-scoped controls, one national run`,
    baseline: 'the same controls over the same inputs, once per site (--site loop)',
    unit: 'ms',
    work: `every site checked once, ${fabric.sites.length} sites`,
    subjectSamples: nationalMs,
    baselineSamples: perSiteMs,
  });
  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(`gather (stacks for ${fabric.sites.length} sites, PKI, audit, rules): ${describe(stats(gatherMs), 'ms', 0)}`);
  console.log(`catalogue (${summary!.controls} controls, promtool included): ${describe(stats(catalogueMs), 'ms', 0)}`);
  console.log(`total: ${describe(total, 'ms', 0)} (target ≤ 5000 ms: ${total.median <= 5000 ? 'met' : 'NOT met'})`);
  console.log(report(loop, 0));
  console.log(`peak RSS ${Math.round(rss)} MB`);
  const round = (xs: number[]) => {
    const st = stats(xs);
    return { median: Math.round(st.median), min: Math.round(st.min), max: Math.round(st.max), spreadPct: Math.round(st.spreadPct) };
  };
  console.log(
    JSON.stringify({
      bench: 'comply',
      runs,
      smoke,
      sites: fabric.sites.length,
      controls: summary!.controls,
      byStatus: summary!.byStatus,
      ms: { gather: round(gatherMs), catalogue: round(catalogueMs), total: round(totalMs) },
      siteScoped: summarize(loop),
      peakRssMb: Math.round(rss),
      targetMs: 5000,
      withinTarget: total.median <= 5000,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
