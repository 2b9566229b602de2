import type { Command } from 'commander';
import { computeKpis, formatTarget, type Indicator } from '../../fabric/index.js';
import { json, percent, table } from '../../lib/output.js';
import type { Runner } from '../cli.js';
import type { Context } from '../context.js';
import { gatherLiveFacts } from '../live.js';

export function register(program: Command, run: Runner): void {
  program
    .command('kpi')
    .description("the plan's 2015 targets (专栏2): target, actual, binding or expected, met or not")
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nIndicators that need live state (certificates, drills) show what they need until that state exists.\n' +
        'The built-in inventory holds SAMPLE figures: its results describe the sample, not the real fabric.',
    )
    .action(run<{ json?: boolean }>(kpi));
}

export function kpisFor(ctx: Context): Indicator[] {
  return computeKpis(ctx.fabric(), gatherLiveFacts(ctx));
}

async function kpi(ctx: Context, opts: { json?: boolean }): Promise<void> {
  const fabric = ctx.fabric();
  const indicators = kpisFor(ctx);
  if (opts.json) {
    ctx.out(json({ inventory: fabric.inventory.metadata.name, sampleData: fabric.sampleData, indicators }));
    return;
  }
  if (fabric.sampleData) ctx.out('SAMPLE DATA: the built-in inventory\'s figures are generated; results describe the sample.\n\n');
  ctx.out(renderKpiTable(indicators));
}

export function renderKpiTable(indicators: readonly Indicator[]): string {
  return table(indicators, [
    { header: 'indicator', value: (i) => i.id },
    { header: 'kind', value: (i) => i.kind },
    { header: 'target', value: (i) => formatTarget(i), align: 'right' },
    { header: 'actual', value: (i) => percent(i.actual), align: 'right' },
    { header: 'status', value: (i) => (i.status === 'needs' ? `needs: ${i.needs}` : i.status) },
  ]);
}
