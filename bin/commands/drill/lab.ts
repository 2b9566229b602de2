import { prepareLab, labStatus as statusOf, stopLab } from '../../../dr-runbooks/operations/index.js';
import { json, table } from '../../../lib/output.js';
import { drillEvidence } from '../../../orchestration/index.js';
import type { Context } from '../../context.js';
import { parseDrillRequest } from './request.js';

/** `drill lab up`: create (or restart) the site's lab and leave it running. */
export async function labUp(ctx: Context, o: { site: string; replication?: string; labTls?: boolean }): Promise<void> {
  const request = parseDrillRequest(ctx, { site: o.site, ...(o.replication ? { replication: o.replication } : {}) });
  const evidence = await drillEvidence(ctx, request.site, o.labTls === true);
  const { lab, startedHere } = await prepareLab(ctx.stateDir, request.site, request.replication, evidence.tls, (l) => ctx.err(`${l}\n`));
  ctx.out(`${startedHere ? 'started' : 'already running'}: DR lab for ${request.site} in ${lab.dir}\n`);
  ctx.out(`  primary ${lab.primary} (127.0.0.1:${lab.state.ports[lab.primary]}), standby ${lab.standby} (127.0.0.1:${lab.state.ports[lab.standby]}), endpoint 127.0.0.1:${lab.state.proxyPort}\n`);
  ctx.out(`  replication TLS: ${lab.state.tlsSource}\n  stop it with: jinbao drill lab down --site ${request.site}\n`);
}

/** `drill lab down` */
export async function labDown(ctx: Context, o: { site: string; destroy?: boolean }): Promise<void> {
  const { dir, stopped } = await stopLab(ctx.stateDir, o.site, o.destroy === true);
  ctx.out(`${stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'}${o.destroy ? `; removed ${dir}` : ''}\n`);
}

/** `drill lab status` */
export async function labStatus(ctx: Context, o: { site: string; json?: boolean }): Promise<void> {
  const status = await statusOf(ctx.stateDir, o.site);
  if (o.json) {
    ctx.out(json(status));
    return;
  }
  ctx.out(`DR lab ${status.site} in ${status.dir}: ${status.replicationMode} replication, endpoint 127.0.0.1:${status.endpoint.port} (${status.endpoint.pid ? `pid ${status.endpoint.pid}` : 'stopped'})\n`);
  ctx.out(table(status.nodes, [
    { header: 'node', value: (n) => n.node },
    { header: 'role', value: (n) => n.role },
    { header: 'port', value: (n) => n.port, align: 'right' },
    { header: 'pid', value: (n) => n.pid ?? 'stopped' },
  ]));
  ctx.out(`replication: ${status.replication.detail}\n`);
}
