import type { Command } from 'commander';
import { describeCatalogue, FORMATS, renderCatalogueList, renderReport, type Format } from '../../compliance/index.js';
import { parseChoice } from '../../lib/options.js';
import { runCompliance } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';
import { checkWritable, writeOutput } from '../print/output-file.js';

export function register(program: Command, run: Runner): void {
  program
    .command('comply')
    .description('run the MLPS 2.0 level-3 and plan-target control catalogue; exit 3 when a binding control does not pass')
    .option('--site <id>', 'only the controls that apply to one site')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .option('--json', 'same as --format json')
    .option('--out <file>', 'write the output to a file instead of stdout')
    .option('--list', 'list the catalogue (id, clause, binding, what it inspects and how) without running it')
    .addHelpText(
      'after',
      '\nEvery control cites its clause of GB/T 22239-2019 (or GB/T 39786-2021, or the plan indicator) and proves each\n' +
        'finding with evidence. Statuses: pass, fail, manual (an auditor attests it), not-run (its state or tool is missing;\n' +
        'never counted as a pass).\n\n' +
        'Exit codes: 0 every binding control passes; 3 a binding control fails or could not run; 2 bad input.\n\n' +
        'Examples:\n' +
        '  $ jinbao comply\n' +
        '  $ jinbao comply --site 440100\n' +
        '  $ jinbao comply --format sarif --out comply.sarif     # upload to code scanning\n' +
        '  $ jinbao comply --format junit --out comply.xml       # CI test report\n' +
        '  $ jinbao comply --list',
    )
    .action(run<ComplyOptions>(comply));
}

interface ComplyOptions {
  site?: string;
  format: string;
  json?: boolean;
  out?: string;
  list?: boolean;
}

async function comply(ctx: Context, opts: ComplyOptions): Promise<number> {
  const format = opts.json ? 'json' : parseChoice<Format>('--format', opts.format, FORMATS);
  if (opts.out !== undefined) checkWritable(opts.out, '--out');
  if (opts.list) {
    const text = format === 'json' ? JSON.stringify(describeCatalogue(), null, 2) + '\n' : renderCatalogueList(describeCatalogue(), ctx.lang);
    writeOutput(ctx, text, opts.out);
    return 0;
  }
  const report = await runCompliance(ctx, opts.site);
  const inventoryUri = ctx.global.inventory ?? undefined;
  writeOutput(ctx, renderReport(report, format, inventoryUri ? { inventoryUri, lang: ctx.lang } : { lang: ctx.lang }), opts.out);
  if (opts.out !== undefined) ctx.err(`${ctx.t('comply.written', { verdict: report.summary.compliant ? ctx.t('comply.compliant') : ctx.t('comply.notCompliant', { count: report.summary.bindingNotPassed.length }), format, file: opts.out })}\n`);
  return report.summary.compliant ? 0 : 3;
}
