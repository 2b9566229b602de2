import type { Command } from 'commander';
import { resolve } from 'node:path';
import { json } from '../../lib/output.js';
import { writePostureReport } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('report')
    .description('write the posture report: one self-contained HTML page with indicators, compliance, certificates, drills and WAN coverage')
    .requiredOption('--out <dir>', 'output folder (created when absent); writes index.html and posture.json')
    .option('--json', 'print where the files went and the verdict as JSON')
    .addHelpText(
      'after',
      '\nThe page works offline (the chart library is bundled into it) and can be mailed or archived as evidence.\n\n' +
        'Examples:\n  $ jinbao report --out posture/ && xdg-open posture/index.html\n  $ jinbao --state /var/lib/jinbao report --out /srv/www/posture',
    )
    .action(run<{ out: string; json?: boolean }>(report));
}

async function report(ctx: Context, opts: { out: string; json?: boolean }): Promise<void> {
  ctx.fabric();
  const { file, report: r } = await writePostureReport(ctx, resolve(opts.out));
  if (opts.json) ctx.out(json({ file, compliant: r.summary.compliant, byStatus: r.summary.byStatus }));
  else ctx.out(`wrote ${file}\n${r.summary.compliant ? 'compliant' : `not compliant: ${r.summary.bindingNotPassed.length} binding control(s) not passing`}\n`);
}
