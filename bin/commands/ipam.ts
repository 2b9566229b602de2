import type { Command } from 'commander';
import { allocateAndRecord } from '../../fabric/operations.js';
import { inputError } from '../../lib/i18n/index.js';
import { json, table } from '../../lib/output.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('ipam')
    .description('allocate and show the address plan: site blocks, data-center, DR and agency networks, underlay links')
    .option('--site <id>', 'one site with its access platforms')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nAllocations are kept in the state store: re-running never renumbers a site, and new sites take free space.\n' +
        'Pin prefixes in the inventory (sites[].addressing, accessPlatforms[].prefix) to fix them by hand.\n\n' +
        'Examples:\n  $ jinbao ipam\n  $ jinbao ipam --site 440100 --json',
    )
    .action(run<{ site?: string; json?: boolean }>(ipam));
}

async function ipam(ctx: Context, opts: { site?: string; json?: boolean }): Promise<void> {
  const fabric = ctx.fabric();
  if (opts.site !== undefined && !fabric.has(opts.site)) {
    throw ctx.global.inventory === undefined ? inputError(COMMAND_MESSAGES, 'inventory.noSiteBuiltIn', { site: opts.site }) : inputError(COMMAND_MESSAGES, 'inventory.noSite', { site: opts.site, source: ctx.inventorySource });
  }
  const result = await allocateAndRecord(await ctx.database(), fabric);
  const rows = [...result.allocations.values()].filter((a) => opts.site === undefined || a.site === opts.site);
  if (opts.json) {
    ctx.out(json({ overlay: fabric.inventory.addressing.overlay, underlay: fabric.inventory.addressing.underlay, newlyAllocated: result.added.length, sites: rows }));
    return;
  }
  ctx.out(`${ctx.t('ipam.summary', { overlay: fabric.inventory.addressing.overlay, underlay: fabric.inventory.addressing.underlay, added: result.added.length, dir: ctx.stateDir })}\n\n`);
  ctx.out(
    table(rows, [
      { header: ctx.t('ipam.col.site'), value: (a) => a.site },
      { header: ctx.t('ipam.col.name'), value: (a) => fabric.site(a.site).name },
      { header: ctx.t('ipam.col.block'), value: (a) => a.block },
      { header: ctx.t('ipam.col.dc'), value: (a) => a.dc },
      { header: ctx.t('ipam.col.dr'), value: (a) => a.dr ?? '' },
      { header: ctx.t('ipam.col.underlay'), value: (a) => a.underlay },
      { header: ctx.t('ipam.col.agencies'), value: (a) => Object.keys(a.agencies).length, align: 'right' },
    ]),
  );
  if (opts.site !== undefined && rows[0]) {
    const site = fabric.site(opts.site);
    ctx.out('\n');
    ctx.out(
      table(site.accessPlatforms, [
        { header: ctx.t('ipam.col.platform'), value: (a) => a.code },
        { header: ctx.t('ipam.col.name'), value: (a) => a.name },
        { header: ctx.t('ipam.col.prefix'), value: (a) => rows[0]!.agencies[a.code] },
      ]),
    );
  }
}
