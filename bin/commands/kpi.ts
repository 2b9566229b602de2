import type { Command } from 'commander';
import { json } from '../../lib/output.js';
import { computeLiveKpiReport } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import { renderKpiTable, renderStaffByProvince } from '../print/kpi-table.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('kpi')
    .description("the plan's 2015 targets (专栏2): target, actual, binding or expected, met or not")
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nOne indicator per figure of the plan\'s table (专栏2), plus level-3 applications using certificates.\n' +
        'Percentages, except card holders in 亿人 (100 million people; the plan\'s target is 8).\n' +
        'Indicators that need live state (production certificates, drills against real pairs) or an inventory\n' +
        'field show what they need until it exists: the demo PKI of jinbao up and lab drills do not count.\n' +
        'The built-in inventory holds SAMPLE figures: its results describe the sample, not the real fabric.\n' +
        '\nExamples:\n  $ jinbao kpi\n  $ jinbao --inventory national.yaml kpi --json',
    )
    .action(run<{ json?: boolean }>(kpi));
}

async function kpi(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const fabric = ctx.fabric();
  const { indicators, staffByProvince } = await computeLiveKpiReport(ctx);
  if (opts.json) {
    // staffByProvince: null while the staff indicator needs state (its `needs` says what)
    ctx.out(json({ inventory: fabric.inventory.metadata.name, sampleData: fabric.sampleData, indicators, staffByProvince: staffByProvince ?? null }));
    return;
  }
  if (fabric.sampleData) ctx.out(`${ctx.t('kpi.sample')}\n\n`);
  ctx.out(renderKpiTable(indicators, ctx.lang));
  if (staffByProvince) ctx.out(`\n${renderStaffByProvince(staffByProvince, ctx.lang)}`);
}
