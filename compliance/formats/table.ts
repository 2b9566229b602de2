import { translator, type Lang, type Translate } from '../../lib/i18n/index.js';
import { table } from '../../lib/output.js';
import { COMPLIANCE_MESSAGES, sayWith } from '../message.js';
import { PLAN_INDICATORS } from '../../fabric/index.js';
import type { ComplianceReport, ControlInfo } from '../model.js';
import { REPORT_MESSAGES } from '../report/html.js';

/** The human table in `lang`: one line per control, then the failing and unrunnable findings, then the verdict. */
export function renderTable(report: ComplianceReport, lang: Lang = 'en'): string {
  const t = translator(lang, COMPLIANCE_MESSAGES);
  const lines: string[] = [];
  if (report.inventory.sampleData) lines.push(t('table.sample'));
  if (report.site) lines.push(t('table.site', { site: report.site }));
  lines.push(
    table(report.results, [
      { header: t('table.col.control'), value: (r) => r.control.id },
      { header: t('table.col.status'), value: (r) => t(`table.mark.${r.status}`) },
      { header: t('table.col.binding'), value: (r) => (r.control.binding ? t('table.yes') : t('table.no')) },
      { header: t('table.col.severity'), value: (r) => t(`table.severity.${r.control.severity}`) },
      { header: t('table.col.clause'), value: (r) => (r.control.source.kind === 'mlps' ? clauseText(t, r.control, lang) : t('table.plan', { indicator: r.control.source.indicator })) },
      { header: t('table.col.result'), value: (r) => summaryLine(t, r) },
    ]),
  );
  const s = report.summary;
  lines.push(t('table.totals', { controls: s.controls, pass: s.byStatus.pass, fail: s.byStatus.fail, manual: s.byStatus.manual, notRun: s.byStatus['not-run'] }));
  lines.push(s.compliant ? t('table.compliant') : t('table.notCompliant', { controls: s.bindingNotPassed.join(', ') }));
  return lines.join('\n') + '\n';
}

function summaryLine(t: Translate, r: ComplianceReport['results'][number]): string {
  const bad = r.findings.filter((f) => f.status === r.status);
  if (r.status === 'pass' && r.findings.length > 1) return t('table.allSitesPass', { count: r.findings.length });
  const first = bad[0] ?? r.findings[0];
  if (!first) return '';
  const more = bad.length > 1 ? t('table.more', { count: bad.length - 1, status: r.status }) : '';
  const message = first.said ? sayWith(t, first.said) : first.message;
  const text = `${first.site ? `${first.site}: ` : ''}${message}`;
  return (text.length > 90 ? `${text.slice(0, 89)}…` : text) + more;
}

/**
 * `comply --list` for people: id, binding or advisory, clause, title; titles in `lang` (the posture
 * report's control titles, the plan's own names of its indicators).
 */
export function renderCatalogueList(controls: readonly ControlInfo[], lang: Lang = 'en'): string {
  const t = translator(lang, COMPLIANCE_MESSAGES);
  const titles = translator(lang, REPORT_MESSAGES);
  const planTitle = new Map(PLAN_INDICATORS.map((i) => [i.id, i.titleZh]));
  const title = (c: ControlInfo) => {
    if (lang === 'en') return c.title;
    return c.source.kind === 'plan' ? (planTitle.get(c.source.indicator) ?? c.title) : titles(`control.${c.id}`, { defaultValue: c.title });
  };
  const clause = (c: ControlInfo) => (c.source.kind === 'mlps' ? clauseText(t, c, lang) : t('list.plan', { indicator: c.source.indicator }));
  return controls.map((c) => `${c.id}\t${c.binding ? t('list.binding') : t('list.advisory')}\t${clause(c)}\t${title(c)}`).join('\n') + '\n';
}

/** A control's standard and clause; the few clauses written with English words have their Chinese form in the catalogue. */
function clauseText(t: Translate, c: ControlInfo, lang: Lang): string {
  const english = c.source.kind === 'mlps' ? `${c.source.standard} ${c.source.clause}` : '';
  return lang === 'en' ? english : t(`clause.${c.id}`, { defaultValue: english });
}
