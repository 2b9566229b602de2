import { formatActual, formatTarget, type Indicator } from '../../fabric/index.js';
import { table } from '../../lib/output.js';

/** The plan's indicators as a table (`kpi` and `up`). */
export function renderKpiTable(indicators: readonly Indicator[]): string {
  return table(indicators, [
    { header: 'indicator', value: (i) => i.id },
    { header: 'kind', value: (i) => i.kind },
    { header: 'target', value: (i) => formatTarget(i), align: 'right' },
    { header: 'actual', value: (i) => formatActual(i), align: 'right' },
    { header: 'status', value: (i) => (i.status === 'needs' ? `needs: ${i.needs}` : i.status) },
  ]);
}
