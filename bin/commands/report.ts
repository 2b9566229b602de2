import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderPosture, runCatalogue, type ComplianceReport } from '../../compliance/index.js';
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
    .requiredOption('--out <dir>', 'output folder (created when absent); writes index.html and posture.json')
    .option('--json', 'print where the files went and the verdict as JSON')
    .addHelpText(
      'after',
      '\nThe page works offline (the chart library is bundled into it) and can be mailed or archived as evidence.\n\n' +
        'Examples:\n  $ jinbao report --out posture/ && xdg-open posture/index.html\n  $ jinbao --state /var/lib/jinbao report --out /srv/www/posture',
    )
    .action(run<{ out: string; json?: boolean }>(report));
}

/** Run the catalogue and write the posture page into `dir`. Shared with `up`. */
export async function writePostureReport(ctx: Context, dir: string): Promise<{ file: string; report: ComplianceReport }> {
  const { inputs, cleanup } = await gatherCompliance(ctx);
  try {
    const report = await runCatalogue(inputs);
    const { html, data } = await renderPosture(inputs, report, { lang: ctx.lang });
    const file = join(dir, 'index.html');
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, html);
      writeFileSync(join(dir, 'posture.json'), json(data));
    } catch (err) {
      throw new InputError(`cannot write the report into ${dir}: ${(err as Error).message}; choose another --out folder`, { cause: err });
    }
    return { file, report };
  } finally {
    cleanup();
  }
}

async function report(ctx: Context, opts: { out: string; json?: boolean }): Promise<void> {
  ctx.fabric();
  const { file, report: r } = await writePostureReport(ctx, resolve(opts.out));
  if (opts.json) ctx.out(json({ file, compliant: r.summary.compliant, byStatus: r.summary.byStatus }));
  else ctx.out(`wrote ${file}\n${r.summary.compliant ? 'compliant' : `not compliant: ${r.summary.bindingNotPassed.length} binding control(s) not passing`}\n`);
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
