import { pairStatus as statusOf } from '../../../dr-runbooks/operations/index.js';
import { ExitCode } from '../../../lib/errors.js';
import { say } from '../../../lib/i18n/index.js';
import { json } from '../../../lib/output.js';
import type { Context } from '../../context.js';
import { parseDrillRequest } from './request.js';

/** `drill pair status`: exit 3 unless the standby streams and the endpoint reaches the primary. */
export async function pairStatus(ctx: Context, o: { site: string; pair: string; json?: boolean }): Promise<number> {
  const request = parseDrillRequest(ctx, { site: o.site, target: 'pg' });
  const { status, nodes } = await statusOf(request.site, o.pair);
  const { replication, certificates } = status;
  const routed = status.endpoint.routesTo ?? undefined;
  const mode = status.replicationMode ?? undefined;
  // --json keeps its shape: each certificate's problem in English (the localized form is for the lines below)
  if (o.json) ctx.out(json({ ...status, certificates: certificates.map(({ localizedProblem: _, ...c }) => c) }));
  else {
    ctx.out(`${ctx.t('drill.pair.head', { file: status.file, site: request.site, primary: status.primary, primaryAt: `${nodes.primary.host}:${nodes.primary.port}`, standby: status.standby, standbyAt: `${nodes.standby.host}:${nodes.standby.port}` })}\n`);
    for (const c of status.connections) ctx.out(`${ctx.t('drill.pair.connection', { connection: c.connection, tls: c.tls })}\n`);
    const lag = replication.replayDelaySeconds !== undefined ? ctx.t('drill.pair.lag', { seconds: replication.replayDelaySeconds.toFixed(3), bytes: replication.replayLagBytes ?? 0 }) : '';
    ctx.out(`${ctx.t('drill.replicationLine', { detail: replication.detail })}${mode ? `; ${mode}` : ''}${lag}\n`);
    const reach = routed === undefined ? ctx.t('drill.pair.reachesNone') : ctx.t('drill.pair.reaches', { node: routed }) + (routed !== status.primary ? ctx.t('drill.pair.notPrimary') : '');
    ctx.out(`${ctx.t('drill.pair.endpoint', { reach })}\n`);
    for (const c of certificates) ctx.out(`${ctx.t('drill.pair.certificate', { file: c.file, state: c.problem ? ctx.t('drill.pair.certProblem', { problem: c.localizedProblem ? say(c.localizedProblem, ctx.lang) : c.problem }) : ctx.t('drill.pair.certValid', { notAfter: c.notAfter, subject: c.subject }) })}\n`);
    ctx.out(`${status.healthy ? ctx.t('drill.pair.ready', { command: `jinbao drill plan --site ${request.site} --target pg --pair ${status.file}` }) : ctx.t('drill.pair.notReady')}\n`);
  }
  return status.healthy ? ExitCode.ok : ExitCode.complianceFailed;
}
