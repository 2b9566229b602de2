import type { Command } from 'commander';
import { json } from '../../lib/output.js';
import { runUp } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import { renderKpiTable } from '../print/kpi-table.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('up')
    .description('the main job: validate the inventory, allocate addresses, build every output and report the targets')
    .option('--out <dir>', 'where generated outputs go', 'jinbao.out')
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      '\nRuns on the built-in national inventory with embedded state unless --inventory / --state say otherwise.\n' +
        'Needs no servers and no root. Re-running is safe: allocations are kept, unchanged outputs are not rewritten.\n\n' +
        'Example:\n  $ jinbao up\n  $ jinbao --inventory national.yaml --state /var/lib/jinbao up --json',
    )
    .action(run<{ out: string; json?: boolean }>(up));
}

async function up(ctx: Context, opts: { out: string; json?: boolean }): Promise<void> {
  const started = performance.now();
  const quiet = opts.json === true;
  const say = (line: string) => {
    if (!quiet) ctx.out(line + '\n');
  };
  const note = (line: string) => {
    if (ctx.io.stderr.isTTY && !process.env.CI && !quiet) ctx.err(`  … ${line}\n`);
  };
  const result = await runUp(ctx, { outDir: opts.out, say, note, lang: ctx.lang });
  if (quiet) {
    ctx.out(json(result));
    return;
  }
  const { kpis } = result;
  const met = kpis.filter((k) => k.status === 'met').length;
  const notMet = kpis.filter((k) => k.status === 'not-met');
  const pending = kpis.filter((k) => k.status === 'needs').length;
  say(`\n${ctx.t('up.targets', { met, notMet: notMet.length, pending })}`);
  ctx.out(renderKpiTable(kpis, ctx.lang));
  say(`\n${ctx.t('up.done', { seconds: ((performance.now() - started) / 1000).toFixed(1) })}`);
}
