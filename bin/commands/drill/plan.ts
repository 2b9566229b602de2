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
  ctx.out(`drill plan: ${request.scenario} of site ${request.site} ${request.siteName} to its DR center at ${request.drSite}, target ${request.target}, ${request.replication} replication\n`);
  ctx.out(`objectives: RTO ${request.objectives.rtoSeconds} s, RPO ${request.objectives.rpoSeconds === 0 ? '0 (no acknowledged write lost)' : `${request.objectives.rpoSeconds} s of data`}; probe ${request.probeRate} writes/s\n\n`);
  steps.forEach((s, i) => ctx.out(`${String(i + 1).padStart(2)}. ${s.name}: ${s.description}\n${s.rollback ? `    rollback: ${s.rollback}\n` : ''}`));
  if (config) {
    ctx.out(`\noperator commands from ${config.source} (roles are found when the drill starts: the node out of recovery is the primary):\n`);
    for (const c of commandsInPlan(config)) ctx.out(`  ${c.command.padEnd(9)} ${c.argv ? c.argv.join(' ') : '(not set)'}\n            ${c.usedBy}\n`);
  }
  ctx.out('\nnothing was changed; run it with: jinbao drill run ' + ['--site', request.site, '--target', request.target, ...(config ? ['--pair', config.source] : []), '--scenario', request.scenario].join(' ') + '\n');
}
