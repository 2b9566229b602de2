import { pairStatus as statusOf } from '../../../dr-runbooks/operations/index.js';
import { ExitCode } from '../../../lib/errors.js';
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
  if (o.json) ctx.out(json(status));
  else {
    ctx.out(`pair ${status.file} for site ${request.site}: primary ${status.primary} (${nodes.primary.host}:${nodes.primary.port}), standby ${status.standby} (${nodes.standby.host}:${nodes.standby.port})\n`);
    for (const c of status.connections) ctx.out(`connection to ${c.connection}: ${c.tls}\n`);
    ctx.out(`replication: ${replication.detail}${mode ? `; ${mode}` : ''}${replication.replayDelaySeconds !== undefined ? `; replay lag ${replication.replayDelaySeconds.toFixed(3)} s, ${replication.replayLagBytes ?? 0} bytes` : ''}\n`);
    ctx.out(`endpoint: ${routed === undefined ? 'reaches no server' : `reaches ${routed}`}${routed !== undefined && routed !== status.primary ? ' (NOT the primary)' : ''}\n`);
    for (const c of certificates) ctx.out(`certificate ${c.file}: ${c.problem ? `PROBLEM: ${c.problem}` : `valid until ${c.notAfter} (${c.subject})`}\n`);
    ctx.out(status.healthy ? 'ready for a drill: jinbao drill plan --site ' + request.site + ' --target pg --pair ' + status.file + '\n' : 'not ready for a drill: repair what is said above first\n');
  }
  return status.healthy ? ExitCode.ok : ExitCode.complianceFailed;
}
