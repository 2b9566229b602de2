import type { Command } from 'commander';
import jsyaml from 'js-yaml';
import { BUILT_IN_INVENTORY, builtInInventory, formatProblem, OUTLET_KINDS, readInventoryFile, validateInventory, inventoryError } from '../../fabric/index.js';
import { exportableInventory, inventorySummary, siteSummary } from '../../fabric/operations.js';
import { parseChoice } from '../../lib/options.js';
import { inputError, translator, type CatalogueRef } from '../../lib/i18n/index.js';
import { json, table } from '../../lib/output.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';

const SHOW_MESSAGES: CatalogueRef = { ns: 'cli', dir: 'bin/commands/locales' };

export function register(program: Command, run: Runner): void {
  const inv = program
    .command('inventory')
    .description('validate, show and export the fabric inventory')
    .addHelpText('after', '\nThe inventory format is documented in docs/inventory.md.');

  inv
    .command('validate [file]')
    .description('check an inventory and report every problem with its location (exit 2 when invalid)')
    .option('--json', 'machine-readable result')
    .addHelpText('after', '\nExamples:\n  $ jinbao inventory validate national.yaml\n  $ jinbao --inventory national.yaml inventory validate --json')
    .action(run<{ json?: boolean }>(validate));

  inv
    .command('show')
    .description('summarize the inventory: counts, sites, DR pairings; sample figures are labelled')
    .option('--site <id>', 'show one site in detail')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean; site?: string }>(show));

  inv
    .command('export')
    .description('write the inventory (default: the built-in national one) to stdout for editing')
    .option('--format <format>', 'yaml or json', 'yaml')
    .option('--pin', 'also write the current address allocations as pins, so a new state keeps them')
    .addHelpText('after', '\nExample:\n  $ jinbao inventory export > national.yaml')
    .action(run<{ format: string; pin?: boolean }>(exportInventory));
}

async function validate(ctx: Context, opts: { json?: boolean }, args: string[]): Promise<number> {
  const file = args[0] ?? ctx.global.inventory;
  const result = file === undefined ? validateInventory(builtInInventory(), BUILT_IN_INVENTORY) : readInventoryFile(file);
  if (opts.json) {
    ctx.out(
      json({
        source: result.source,
        valid: result.fabric !== undefined,
        problems: result.problems.map((p) => ({ path: p.path, location: p.location, message: p.message, text: formatProblem(p) })),
        ...(result.fabric ? { sites: result.fabric.sites.length } : {}),
      }),
    );
    return result.fabric ? 0 : 2;
  }
  if (!result.fabric) throw inventoryError(result);
  const f = result.fabric;
  ctx.out(
    ctx.t('inventory.valid', { source: file === undefined ? ctx.t('inventory.builtIn') : result.source, sites: f.sites.length, provinces: f.byTier('province').length, prefectures: f.byTier('prefecture').length }) +
      ctx.t('inventory.validPlatforms', { platforms: f.sites.reduce((n, s) => n + s.accessPlatforms.length, 0) }) + '\n',
  );
  return 0;
}

async function show(ctx: Context, opts: { json?: boolean; site?: string }): Promise<void> {
  const f = ctx.fabric();
  if (opts.site !== undefined) {
    const s = f.findSite(opts.site);
    if (!s) throw ctx.global.inventory === undefined ? inputError(COMMAND_MESSAGES, 'inventory.noSiteBuiltIn', { site: opts.site }) : inputError(COMMAND_MESSAGES, 'inventory.noSite', { site: opts.site, source: ctx.inventorySource });
    const view = { ...siteSummary(f, s), accessPlatformList: s.accessPlatforms, programmes: s.programmes ?? null, ingestion: s.ingestion ?? null, sampleData: f.sampleData };
    if (opts.json) return void ctx.out(json(view));
    if (f.sampleData) ctx.out(`${ctx.t('inventory.site.sample')}\n`);
    ctx.out(`${ctx.t('inventory.site.head', { id: s.id, name: s.name, slug: s.slug, tier: ctx.t(`inventory.tier.${s.tier}`), parent: s.parent ? ctx.t('inventory.site.parent', { parent: s.parent }) : '' })}\n`);
    ctx.out(`${ctx.t('inventory.site.dc', { class: s.dataCenter.class, meets: s.dataCenter.meetsStandard ? ctx.t('inventory.site.meets') : ctx.t('inventory.site.notMeets'), level: s.mlpsLevel })}\n`);
    ctx.out(`${ctx.t('inventory.site.domains', { domains: view.domains.join(', '), centralized: view.centralized ? ctx.t('inventory.site.centralized') : '' })}\n`);
    ctx.out(`${ctx.t('inventory.site.dr', { dr: view.dr ? ctx.t('inventory.site.drCenter', { site: view.dr.site, rto: view.dr.rtoSeconds, rpo: view.dr.rpoSeconds, replication: view.dr.replication }) : ctx.t('inventory.site.none'), hosts: view.drCenterFor.length ? ctx.t('inventory.site.hosts', { sites: view.drCenterFor.join(', ') }) : '' })}\n`);
    ctx.out(`${ctx.t('inventory.site.staff', { total: s.staff.total, certs: s.staff.requiringCertificates })}\n`);
    ctx.out(`${ctx.t('inventory.site.agencies', { connected: s.serviceAgencies.connected, total: s.serviceAgencies.total })}\n`);
    if (s.accessPlatforms.length > 0) {
      ctx.out(`${ctx.t('inventory.site.platforms', { connected: view.accessPlatformsConnected, total: s.accessPlatforms.length })}\n`);
      ctx.out(
        table(s.accessPlatforms, [
          { header: ctx.t('inventory.site.col.code'), value: (a) => `  ${a.code}` },
          { header: ctx.t('inventory.site.col.name'), value: (a) => a.name },
          { header: ctx.t('inventory.site.col.connected'), value: (a) => (a.connected ? ctx.t('inventory.site.yes') : ctx.t('inventory.site.no')) },
          ...OUTLET_KINDS.map((k) => ({ header: k, value: (a: (typeof s.accessPlatforms)[number]) => `${a.outlets[k].connected}/${a.outlets[k].total}`, align: 'right' as const })),
        ]),
      );
    }
    return;
  }
  const sum = inventorySummary(f);
  if (opts.json) {
    ctx.out(json({ ...sum, sites: f.sites.map((s) => siteSummary(f, s)) }));
    return;
  }
  if (sum.sampleData) ctx.out(`${sum.notes.join('\n')}\n\n`);
  // the words follow --lang or the locale; the site names are the inventory's own (Chinese), pinyin beside them
  const t = translator(ctx.lang, SHOW_MESSAGES);
  const source = ctx.global.inventory ?? t('inventory.builtIn');
  ctx.out(
    `${t('inventory.summary', { name: sum.name, source, provinces: sum.counts.province, prefectures: sum.counts.prefecture, platforms: sum.counts.accessPlatforms, pairings: sum.counts.drPairings })}\n\n`,
  );
  ctx.out(
    table(f.sites, [
      { header: t('inventory.col.id'), value: (s) => s.id },
      { header: t('inventory.col.tier'), value: (s) => t(`inventory.tier.${s.tier}`) },
      { header: t('inventory.col.name'), value: (s) => s.name },
      { header: t('inventory.col.slug'), value: (s) => s.slug },
      { header: t('inventory.col.parent'), value: (s) => s.parent ?? '' },
      { header: t('inventory.col.dc'), value: (s) => `${s.dataCenter.class}${s.dataCenter.meetsStandard ? '' : '!'}` },
      { header: t('inventory.col.domains'), value: (s) => f.domains(s).length, align: 'right' },
      { header: t('inventory.col.dr'), value: (s) => s.dr?.site ?? '' },
      { header: t('inventory.col.staff'), value: (s) => s.staff.total, align: 'right' },
      { header: t('inventory.col.platforms'), value: (s) => `${s.accessPlatforms.filter((a) => a.connected).length}/${s.accessPlatforms.length}`, align: 'right' },
    ]),
  );
  ctx.out(`\n${t('inventory.legend')}\n`);
}

async function exportInventory(ctx: Context, opts: { format: string; pin?: boolean }): Promise<void> {
  const format = parseChoice('--format', opts.format, ['yaml', 'json'] as const);
  const f = ctx.fabric();
  const doc = await exportableInventory(f, opts.pin ? await ctx.database() : undefined);
  if (format === 'json') ctx.out(json(doc));
  else {
    const header = f.sampleData ? '# SAMPLE DATA: see metadata.notes. Only site names and GB/T 2260 codes are real.\n' : '';
    ctx.out(header + jsyaml.dump(doc, { lineWidth: -1, noRefs: true }));
  }
}
