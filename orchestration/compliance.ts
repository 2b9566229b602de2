import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPosture, runCatalogue, type ComplianceReport, type PostureData } from '../compliance/index.js';
import { json } from '../lib/output.js';
import type { OpsContext } from './context.js';
import { gatherCompliance } from './compliance-inputs.js';
import { inputError } from '../lib/i18n/index.js';
import { ORCHESTRATION } from './messages.js';
import { makeDirs } from '../lib/dirs.js';

/** Run the compliance catalogue over every feature's state (one site's controls with `site`). */
export async function runCompliance(ctx: OpsContext, site?: string): Promise<ComplianceReport> {
  const fabric = ctx.fabric();
  if (site !== undefined && !fabric.has(site)) throw ctx.builtInInventory ? inputError(ORCHESTRATION, 'compliance.noSiteBuiltIn', { site }) : inputError(ORCHESTRATION, 'compliance.noSite', { site, source: ctx.inventorySource });
  const { inputs, cleanup } = await gatherCompliance(ctx);
  try {
    return await runCatalogue(inputs, site === undefined ? {} : { site });
  } finally {
    cleanup();
  }
}

/** Run the catalogue and render the posture page in the context's language. */
export async function renderPostureReport(ctx: OpsContext): Promise<{ html: string; data: PostureData; report: ComplianceReport }> {
  const { inputs, cleanup } = await gatherCompliance(ctx);
  try {
    const report = await runCatalogue(inputs);
    return { ...(await renderPosture(inputs, report, ctx.lang ? { lang: ctx.lang } : {})), report };
  } finally {
    cleanup();
  }
}

/** Write a rendered posture page (index.html and posture.json) into `dir`; returns the page's path. */
export function writePosturePage(dir: string, html: string, data: PostureData): string {
  const file = join(dir, 'index.html');
  try {
    makeDirs(dir);
    writeFileSync(file, html);
    writeFileSync(join(dir, 'posture.json'), json(data));
  } catch (err) {
    throw inputError(ORCHESTRATION, 'compliance.cannotWrite', { dir, reason: (err as Error).message }, { cause: err });
  }
  return file;
}

/** Run the catalogue and write the posture report (index.html and posture.json) into `dir`. */
export async function writePostureReport(ctx: OpsContext, dir: string): Promise<{ file: string; report: ComplianceReport }> {
  const { html, data, report } = await renderPostureReport(ctx);
  return { file: writePosturePage(dir, html, data), report };
}
