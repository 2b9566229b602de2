import { translator, type Lang, type Translate } from '../../lib/i18n/index.js';
import { table } from '../../lib/output.js';
import { COMPLIANCE_MESSAGES, sayWith } from '../message.js';
import type { ComplianceReport } from '../model.js';

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
      { header: t('table.col.clause'), value: (r) => (r.control.source.kind === 'mlps' ? `${r.control.source.standard} ${r.control.source.clause}` : t('table.plan', { indicator: r.control.source.indicator })) },
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
