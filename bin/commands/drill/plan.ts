import { commandsInPlan, planDrill } from '../../../dr-runbooks/operations/index.js';
import { json } from '../../../lib/output.js';
import type { Context } from '../../context.js';
import { parseDrillRequest, type RequestOptions } from './request.js';

/** `drill plan`: the steps of a drill, touching nothing. */
export async function plan(ctx: Context, o: RequestOptions & { json?: boolean }): Promise<void> {
  const { request, steps, config } = planDrill(parseDrillRequest(ctx, o), o.pair);
  if (o.json) {
    ctx.out(json({ request, steps, ...(config ? { pair: { file: config.source, nodes: config.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })), commands: commandsInPlan(config) } } : {}) }));
    return;
  }
  ctx.out(`${ctx.t('drill.planHead', { scenario: request.scenario, site: request.site, name: request.siteName, dr: request.drSite, target: request.target, replication: request.replication })}\n`);
  ctx.out(`${ctx.t('drill.objectives', { rto: request.objectives.rtoSeconds, rpo: request.objectives.rpoSeconds === 0 ? ctx.t('drill.rpoZero') : ctx.t('drill.rpoSeconds', { seconds: request.objectives.rpoSeconds }), rate: request.probeRate })}\n\n`);
  steps.forEach((s, i) => ctx.out(`${String(i + 1).padStart(2)}. ${s.name}: ${s.description}\n${s.rollback ? `${ctx.t('drill.rollback', { text: s.rollback })}\n` : ''}`));
  if (config) {
    ctx.out(`\n${ctx.t('drill.operatorCommands', { file: config.source })}\n`);
    for (const c of commandsInPlan(config)) ctx.out(`  ${c.command.padEnd(9)} ${c.argv ? c.argv.join(' ') : ctx.t('drill.notSet')}\n            ${c.usedBy}\n`);
  }
  ctx.out('\n' + ctx.t('drill.nothingChanged', { command: 'jinbao drill run ' + ['--site', request.site, '--target', request.target, ...(config ? ['--pair', config.source] : []), '--scenario', request.scenario].join(' ') }) + '\n');
}
