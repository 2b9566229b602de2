import { prepareLab, labStatus as statusOf, stopLab } from '../../../dr-runbooks/operations/index.js';
import { json, table } from '../../../lib/output.js';
import { drillEvidence } from '../../../orchestration/index.js';
import type { Context } from '../../context.js';
import { parseDrillRequest } from './request.js';

/** `drill lab up`: create (or restart) the site's lab and leave it running. */
export async function labUp(ctx: Context, o: { site: string; replication?: string; labTls?: boolean }): Promise<void> {
  const request = parseDrillRequest(ctx, { site: o.site, ...(o.replication ? { replication: o.replication } : {}) });
  const evidence = await drillEvidence(ctx, request.site, o.labTls === true);
  const { lab, startedHere } = await prepareLab(ctx.stateDir, request.site, request.replication, evidence.tls, (l) => ctx.err(`${l}\n`), ctx.lang);
  ctx.out(`${ctx.t(startedHere ? 'drill.lab.started' : 'drill.lab.running', { site: request.site, dir: lab.dir })}\n`);
  ctx.out(`  ${ctx.t('drill.lab.nodes', { primary: lab.primary, primaryPort: lab.state.ports[lab.primary], standby: lab.standby, standbyPort: lab.state.ports[lab.standby], endpointPort: lab.state.proxyPort })}\n`);
  ctx.out(`  ${ctx.t('drill.lab.tls', { source: lab.state.tlsSource })}\n  ${ctx.t('drill.lab.stopWith', { site: request.site })}\n`);
}

/** `drill lab down` */
export async function labDown(ctx: Context, o: { site: string; destroy?: boolean }): Promise<void> {
  const { dir, stopped } = await stopLab(ctx.stateDir, o.site, o.destroy === true);
  ctx.out(`${stopped.length > 0 ? ctx.t('drill.lab.stopped', { nodes: stopped.join(', ') }) : ctx.t('drill.lab.nothingRunning')}${o.destroy ? ctx.t('drill.lab.removed', { dir }) : ''}\n`);
}

/** `drill lab status` */
export async function labStatus(ctx: Context, o: { site: string; json?: boolean }): Promise<void> {
  const status = await statusOf(ctx.stateDir, o.site);
  if (o.json) {
    ctx.out(json(status));
    return;
  }
  const stopped = ctx.t('drill.lab.notRunning');
  ctx.out(`${ctx.t('drill.lab.status', { site: status.site, dir: status.dir, replication: ctx.t(`drill.replicationMode.${status.replicationMode}`, { defaultValue: status.replicationMode }), port: status.endpoint.port, pid: status.endpoint.pid ? `pid ${status.endpoint.pid}` : stopped })}\n`);
  ctx.out(table(status.nodes, [
    { header: ctx.t('drill.lab.col.node'), value: (n) => n.node },
    { header: ctx.t('drill.lab.col.role'), value: (n) => ctx.t(`drill.role.${n.role}`, { defaultValue: n.role }) },
    { header: ctx.t('drill.lab.col.port'), value: (n) => n.port, align: 'right' },
    { header: ctx.t('drill.lab.col.pid'), value: (n) => n.pid ?? stopped },
  ]));
  ctx.out(`${ctx.t('drill.replicationLine', { detail: status.replication.detail })}\n`);
}
