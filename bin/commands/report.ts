import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_CHROMIUM, printPosturePdf, renderPosture, runCatalogue, type ComplianceReport, type PostureData } from '../../compliance/index.js';
import { InputError } from '../../lib/errors.js';
import { json } from '../../lib/output.js';
import type { Runner } from '../cli.js';
import type { Context } from '../context.js';
import type { UpStage } from '../up-stages.js';
import { gatherCompliance } from './comply-sources.js';

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

/** Run the catalogue and render the posture page in the command's language. */
async function renderReport(ctx: Context): Promise<{ html: string; data: PostureData; report: ComplianceReport }> {
  const { inputs, cleanup } = await gatherCompliance(ctx);
  try {
    const report = await runCatalogue(inputs);
    return { ...(await renderPosture(inputs, report, { lang: ctx.lang })), report };
  } finally {
    cleanup();
  }
}

function writePage(dir: string, html: string, data: PostureData): string {
  const file = join(dir, 'index.html');
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, html);
    writeFileSync(join(dir, 'posture.json'), json(data));
  } catch (err) {
    throw new InputError(`cannot write the report into ${dir}: ${(err as Error).message}; choose another --out folder`, { cause: err });
  }
  return file;
}

/** Run the catalogue and write the posture page into `dir`. Shared with `up`. */
export async function writePostureReport(ctx: Context, dir: string): Promise<{ file: string; report: ComplianceReport }> {
  const { html, data, report } = await renderReport(ctx);
  return { file: writePage(dir, html, data), report };
}

async function report(ctx: Context, opts: { out?: string; pdf?: string; json?: boolean }): Promise<void> {
  if (opts.out === undefined && opts.pdf === undefined) throw new InputError('jinbao report needs --out DIR (the HTML page), --pdf FILE (the printable report) or both; e.g. jinbao report --pdf posture.pdf');
  ctx.fabric();
  const { html, data, report: r } = await renderReport(ctx);
  const pdf = opts.pdf === undefined ? undefined : resolve(opts.pdf);
  if (pdf !== undefined) await printPosturePdf(html, pdf, { lang: ctx.lang, inventory: data.inventory.name, generatedAt: data.generatedAt, chromium: ctx.io.env.JINBAO_CHROMIUM ?? DEFAULT_CHROMIUM });
  const file = opts.out === undefined ? undefined : writePage(resolve(opts.out), html, data);
  if (opts.json) ctx.out(json({ ...(file ? { file } : {}), ...(pdf ? { pdf } : {}), compliant: r.summary.compliant, byStatus: r.summary.byStatus }));
  else ctx.out(`${[file, pdf].filter((f) => f !== undefined).map((f) => `wrote ${f}\n`).join('')}${r.summary.compliant ? 'compliant' : `not compliant: ${r.summary.bindingNotPassed.length} binding control(s) not passing`}\n`);
}

/** The last stage of `jinbao up`: run the catalogue and write the posture report. */
export const postureUpStage: UpStage = {
  name: 'posture',
  async run(ctx, env) {
    env.note('running the compliance catalogue and writing the posture report');
    const { file, report: r } = await writePostureReport(ctx, join(env.outDir, 'report'));
    const s = r.summary;
    return {
      lines: [
        `compliance: ${s.controls} controls — ${s.byStatus.pass} pass, ${s.byStatus.fail} fail, ${s.byStatus.manual} manual, ${s.byStatus['not-run']} not run; ${s.compliant ? 'compliant' : `not compliant (${s.bindingNotPassed.length} binding control(s) not passing: jinbao comply)`}`,
        `report: ${file}`,
      ],
      data: { file, compliant: s.compliant, byStatus: s.byStatus, bindingNotPassed: s.bindingNotPassed },
    };
  },
};
