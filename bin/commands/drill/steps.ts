import type { Scenario } from '../../../dr-runbooks/index.js';
import type { Context } from '../../context.js';

/**
 * A drill step as a person reads it: in English its id (`promote`), in Chinese its name followed by
 * the id (`提升备库（promote）`, so written in the catalogue), so that what the terminal shows can be found in the JSON report,
 * whose step ids never change with the language.
 */
export function stepName(ctx: Context, id: string): string {
  return ctx.t(`drill.step.${id}.name`, { defaultValue: id });
}

/** What a step does and how it is undone, from the catalogue (its English text is the runbook's own). */
export function stepTexts(ctx: Context, id: string, scenario: Scenario): { description: string; rollback: string } {
  const variant = scenario === 'failover' && ctx.t(`drill.step.${id}.descriptionFailover`, { defaultValue: '' }) !== '' ? 'descriptionFailover' : 'description';
  return { description: ctx.t(`drill.step.${id}.${variant}`), rollback: ctx.t(`drill.step.${id}.rollback`, { defaultValue: '' }) };
}
