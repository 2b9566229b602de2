import { needsIn } from '../../compliance/index.js';
import { formatActual, formatTarget, type Indicator, type StaffBreakdown, type StaffProvinceShare } from '../../fabric/index.js';
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


/** The staff indicator per province as a table, headed and worded in `lang`; the source column says which sites counted from rosters and which from the inventory. */
export function renderStaffByProvince(b: StaffBreakdown, lang: Lang = 'en'): string {
  const t = translator(lang, CLI);
  const source = (p: StaffProvinceShare) =>
    [
      ...(p.fromRoster.sites ? [t('kpi.staff.source.roster', { sites: p.fromRoster.sites })] : []),
      ...(p.fromInventory.sites ? [t(`kpi.staff.source.${p.fromInventory.sample ? 'inventory-sample' : 'inventory'}`, { sites: p.fromInventory.sites })] : []),
    ].join(t('kpi.staff.source.separator'));
  return `${t('kpi.staff.heading', { target: formatTarget({ target: b.target, unit: '%' }) })}\n${table(b.provinces, [
    { header: t('kpi.staff.col.province'), value: (p) => p.province },
    { header: t('kpi.staff.col.name'), value: (p) => p.name },
    { header: t('kpi.staff.col.staff'), value: (p) => String(p.staff), align: 'right' },
    { header: t('kpi.staff.col.holders'), value: (p) => String(p.holders), align: 'right' },
    { header: t('kpi.staff.col.actual'), value: (p) => formatActual({ actual: p.actual, unit: '%' }), align: 'right' },
    { header: t('kpi.staff.col.status'), value: (p) => t(`kpi.status.${p.status}`) },
    { header: t('kpi.staff.col.source'), value: source },
  ])}`;
}
