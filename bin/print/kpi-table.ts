import { needsIn } from '../../compliance/index.js';
import { formatActual, formatTarget, type Indicator } from '../../fabric/index.js';
import { translator, type Lang } from '../../lib/i18n/index.js';
import { table } from '../../lib/output.js';
import { CLI } from '../help.js';

/** The plan's indicators as a table (`kpi` and `up`), headed and worded in `lang`. */
export function renderKpiTable(indicators: readonly Indicator[], lang: Lang = 'en'): string {
  const t = translator(lang, CLI);
  return table(indicators, [
    { header: t('kpi.col.indicator'), value: (i) => i.id },
    { header: t('kpi.col.kind'), value: (i) => t(`kpi.kind.${i.kind}`) },
    { header: t('kpi.col.target'), value: (i) => formatTarget(i), align: 'right' },
    { header: t('kpi.col.actual'), value: (i) => formatActual(i), align: 'right' },
    { header: t('kpi.col.status'), value: (i) => (i.status === 'needs' ? t('kpi.status.needs', { what: needsIn(lang, i.needs ?? '') }) : t(`kpi.status.${i.status}`)) },
  ]);
}

