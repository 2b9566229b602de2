import { renderMarkdown, verifyProblemTexts } from '../../../dr-runbooks/index.js';
import { abortDrill, drillReport, listDrills, verifyReportFile } from '../../../dr-runbooks/operations/index.js';
import { ExitCode } from '../../../lib/errors.js';
import { parseChoice } from '../../../lib/options.js';
import { json, table } from '../../../lib/output.js';
import { reportVerifier } from '../../../orchestration/index.js';
import type { Context } from '../../context.js';

/** `drill abort <run>` */
export async function abort(ctx: Context, _o: unknown, args: string[]): Promise<void> {
  const id = args[0]!;
  const r = await abortDrill(ctx, id);
  ctx.out(r === 'requested' ? `${ctx.t('drill.abortRequested', { id })}\n` : `${ctx.t('drill.abortNoProcess', { id })}\n`);
}

/** `drill list` */
export async function list(ctx: Context, o: { site?: string; json?: boolean }): Promise<void> {
  const runs = await listDrills(ctx, o.site);
  if (o.json) {
    ctx.out(json({ runs }));
    return;
  }
  if (runs.length === 0) {
    ctx.out(`${ctx.t('drill.none')}\n`);
    return;
  }
  ctx.out(
    table(runs, [
      { header: ctx.t('drill.col.run'), value: (r) => r.id },
      { header: ctx.t('drill.col.site'), value: (r) => r.site },
      { header: ctx.t('drill.col.scenario'), value: (r) => r.scenario },
      { header: ctx.t('drill.col.replication'), value: (r) => r.replication },
      { header: ctx.t('drill.col.result'), value: (r) => r.result },
      { header: ctx.t('drill.col.rto'), value: (r) => (r.rtoMs === undefined ? '—' : `${(r.rtoMs / 1000).toFixed(2)} s`), align: 'right' },
      { header: ctx.t('drill.col.rpoRows'), value: (r) => r.rpoRows ?? '—', align: 'right' },
      { header: ctx.t('drill.col.finished'), value: (r) => r.finishedAt ?? '' },
    ]),
  );
}

/** `drill report <run>` */
export async function report(ctx: Context, o: { format: string }, args: string[]): Promise<void> {
  const format = parseChoice('--format', o.format, ['md', 'json'] as const);
  const r = await drillReport(ctx, args[0]!);
  ctx.out(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderMarkdown(r, ctx.lang));
}

/** `drill verify-report <file>`: exit 3 unless the digest and the signature check out. */
export async function verify(ctx: Context, o: { root?: string; json?: boolean }, args: string[]): Promise<number> {
  const file = args[0]!;
  const v = await verifyReportFile(file, () => reportVerifier(ctx, o.root));
  if (o.json) ctx.out(json({ file, ...v }));
  else {
    ctx.out(`${ctx.t('drill.verify', { file, verdict: v.ok ? ctx.t('drill.valid') : ctx.t('drill.notVerified'), digest: v.digestOk ? ctx.t('drill.digestMatches') : ctx.t('drill.digestDiffers'), signature: v.signed ? (v.signer ? ctx.t('drill.signedBy', { signer: v.signer }) : ctx.t('drill.signed')) : ctx.t('drill.unsigned') })}\n`);
    for (const p of verifyProblemTexts(v.problems, ctx.lang)) ctx.out(`  - ${p}\n`);
  }
  return v.ok ? ExitCode.ok : ExitCode.complianceFailed;
}
