import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_CHROMIUM, printPosturePdf } from '../../compliance/index.js';
import { InputError } from '../../lib/errors.js';
import { json } from '../../lib/output.js';
import { renderPostureReport, writePosturePage } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('report')
    .description('write the posture report: one self-contained HTML page with indicators, compliance, certificates, drills and WAN coverage')
    .option('--out <dir>', 'output folder (created when absent); writes index.html and posture.json')
    .option('--pdf <file>', 'print the report to an A4 PDF (headless Chromium; JINBAO_CHROMIUM names another than /usr/bin/chromium)')
    .option('--json', 'print where the files went and the verdict as JSON')
    .addHelpText(
      'after',
      '\nThe page works offline (the chart library and the Chinese font subset are bundled into it) and can be mailed or\n' +
        'archived as evidence. Its language follows --lang or the locale (LANG=zh_CN.UTF-8: Chinese).\n\n' +
        'Examples:\n  $ jinbao report --out posture/ && xdg-open posture/index.html\n  $ jinbao --lang zh-CN report --pdf posture.pdf      # A4, page headers with the inventory and date\n' +
        '  $ jinbao --state /var/lib/jinbao report --out /srv/www/posture',
    )
    .action(run<{ out?: string; pdf?: string; json?: boolean }>(report));
}

async function report(ctx: Context, opts: { out?: string; pdf?: string; json?: boolean }): Promise<void> {
  if (opts.out === undefined && opts.pdf === undefined) throw new InputError('jinbao report needs --out DIR (the HTML page), --pdf FILE (the printable report) or both; e.g. jinbao report --pdf posture.pdf');
  ctx.fabric();
  const { html, data, report: r } = await renderPostureReport(ctx);
  const pdf = opts.pdf === undefined ? undefined : resolve(opts.pdf);
  if (pdf !== undefined) await printPosturePdf(html, pdf, { lang: ctx.lang, inventory: data.inventory.name, generatedAt: data.generatedAt, chromium: ctx.io.env.JINBAO_CHROMIUM ?? DEFAULT_CHROMIUM });
  const file = opts.out === undefined ? undefined : writePosturePage(resolve(opts.out), html, data);
  if (opts.json) ctx.out(json({ ...(file ? { file } : {}), ...(pdf ? { pdf } : {}), compliant: r.summary.compliant, byStatus: r.summary.byStatus }));
  else ctx.out(`${[file, pdf].filter((f) => f !== undefined).map((f) => `${ctx.t('report.wrote', { file: f })}\n`).join('')}${r.summary.compliant ? ctx.t('report.compliant') : ctx.t('report.notCompliant', { count: r.summary.bindingNotPassed.length })}\n`);
}
