import { formatActual, formatTarget } from '../../fabric/index.js';
import type { Check } from '../inputs.js';
import { needsSaid, said } from '../message.js';
import { fail, notRun, pass } from './verdict.js';

/** The check for one of the plan's indicators, as fabric/kpi.ts computes it. */
export function indicatorCheck(indicatorId: string): Check {
  return (inputs) => {
    const i = inputs.indicators.find((x) => x.id === indicatorId);
    if (!i) return [notRun(said('plan.notComputed', { id: indicatorId }))];
    const figure =
      i.numerator !== undefined && i.denominator !== undefined ? ` (${i.numerator} of ${i.denominator})` : i.denominator !== undefined ? ` (mean over ${i.denominator})` : '';
    const evidence = [{ source: i.source, detail: `${i.title}: actual ${formatActual(i)}${figure}, target ${formatTarget(i)}`, value: { actual: i.actual, target: i.target, numerator: i.numerator, denominator: i.denominator } }];
    switch (i.status) {
      case 'met':
        return [pass(said('plan.met', { actual: formatActual(i), target: formatTarget(i) }), evidence)];
      case 'not-met':
        return [fail(said('plan.notMet', { actual: formatActual(i), target: formatTarget(i) }), evidence)];
      case 'needs':
        return [notRun(said('plan.needs', { what: i.needs ? needsSaid(i.needs) : i.source }), [{ source: i.source, detail: i.needs ?? 'live state' }])];
    }
  };
}
