import { commandsInPlan, planDrill } from '../../../dr-runbooks/operations/index.js';
import { json } from '../../../lib/output.js';
import type { Context } from '../../context.js';
import { stepName, stepTexts } from './steps.js';
import { parseDrillRequest, type RequestOptions } from './request.js';

/** `drill plan`: the steps of a drill, touching nothing. */
export async function plan(ctx: Context, o: RequestOptions & { json?: boolean }): Promise<void> {
  const { request, steps, config } = planDrill(parseDrillRequest(ctx, o), o.pair);
  if (o.json) {
    ctx.out(json({ request, steps, ...(config ? { pair: { file: config.source, nodes: config.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })), commands: commandsInPlan(config) } } : {}) }));
    return;
  }
  ctx.out(`${ctx.t('drill.planHead', { scenario: ctx.t(`drill.scenario.${request.scenario}`), site: request.site, name: request.siteName, dr: request.drSite, target: request.target, replication: ctx.t(`drill.replicationMode.${request.replication}`) })}\n`);
  ctx.out(`${ctx.t('drill.objectives', { rto: request.objectives.rtoSeconds, rpo: request.objectives.rpoSeconds === 0 ? ctx.t('drill.rpoZero') : ctx.t('drill.rpoSeconds', { seconds: request.objectives.rpoSeconds }), rate: request.probeRate })}\n\n`);
  steps.forEach((s, i) => {
    const text = stepTexts(ctx, s.name, request.scenario);
    ctx.out(`${String(i + 1).padStart(2)}. ${ctx.t('drill.planStep', { step: stepName(ctx, s.name), description: text.description })}\n${s.rollback ? `${ctx.t('drill.rollback', { text: text.rollback })}\n` : ''}`);
  });
  if (config) {
    ctx.out(`\n${ctx.t('drill.operatorCommands', { file: config.source })}\n`);
    for (const c of commandsInPlan(config)) ctx.out(`  ${c.command.padEnd(9)} ${c.argv ? c.argv.join(' ') : ctx.t('drill.notSet')}\n            ${c.usedBy}\n`);
  }
  ctx.out('\n' + ctx.t('drill.nothingChanged', { command: 'jinbao drill run ' + ['--site', request.site, '--target', request.target, ...(config ? ['--pair', config.source] : []), '--scenario', request.scenario].join(' ') }) + '\n');
}
