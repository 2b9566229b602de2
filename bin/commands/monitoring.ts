import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { parseRatio } from '../../lib/options.js';
import { json } from '../../lib/output.js';
import { writeMonitoring } from '../../monitoring/operations.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const mon = program.command('monitoring').description('Prometheus recording and alerting rules and the Grafana dashboard for the fabric');
  mon
    .command('render')
    .description('write rules/jinbao-{recording,alerting}.rules.yml and grafana/jinbao-posture.json')
    .requiredOption('--out <dir>', 'output folder (created when absent)')
    .option('--slo <ratio>', 'availability objective of the inter-tier exchange, e.g. 0.999', '0.999')
    .option('--json', 'list what was written as JSON')
    .addHelpText(
      'after',
      '\nThe alerts: certificate and CA expiry, DR drill older than 90 days, replication lag above the RPO objective,\n' +
        'plan indicators below target, WAN link down, failing binding compliance controls, and multi-window\n' +
        'multi-burn-rate alerts on the exchange SLO (1h & 5m at 14.4x, 6h & 30m at 6x, 3d & 6h at 1x).\n\n' +
        'Examples:\n' +
        '  $ jinbao monitoring render --out /etc/prometheus/jinbao\n' +
        '  $ promtool check rules /etc/prometheus/jinbao/rules/*.yml\n' +
        '  $ jinbao monitoring render --out out/ --slo 0.9995',
    )
    .action(run<{ out: string; slo: string; json?: boolean }>(render));
}

async function render(ctx: Context, opts: { out: string; slo: string; json?: boolean }): Promise<void> {
  ctx.fabric();
  const slo = parseRatio('--slo', opts.slo, '0.999');
  const written = writeMonitoring(resolve(opts.out), { exchangeSlo: slo });
  if (opts.json) ctx.out(json({ slo, files: written }));
  else ctx.out(`${written.map((w) => ctx.t('monitoring.wrote', { file: w })).join('\n')}\n${ctx.t('monitoring.check', { dir: join(resolve(opts.out), 'rules') })}\n`);
}
