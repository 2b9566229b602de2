import { table } from '../../lib/output.js';
import type { ComplianceReport } from '../model.js';

const MARK = { pass: 'PASS', fail: 'FAIL', manual: 'MANUAL', 'not-run': 'NOT RUN' } as const;

/** The human table: one line per control, then the failing and unrunnable findings, then the verdict. */
export function renderTable(report: ComplianceReport): string {
  const lines: string[] = [];
  if (report.inventory.sampleData) lines.push('SAMPLE DATA: the inventory\'s figures are generated; results describe the sample.\n');
  if (report.site) lines.push(`site ${report.site}: site-scoped controls only\n`);
  lines.push(
    table(report.results, [
      { header: 'control', value: (r) => r.control.id },
      { header: 'status', value: (r) => MARK[r.status] },
      { header: 'binding', value: (r) => (r.control.binding ? 'yes' : 'no') },
      { header: 'severity', value: (r) => r.control.severity },
      { header: 'clause', value: (r) => (r.control.source.kind === 'mlps' ? `${r.control.source.standard} ${r.control.source.clause}` : `plan: ${r.control.source.indicator}`) },
      { header: 'result', value: (r) => summaryLine(r) },
    ]),
  );
  const s = report.summary;
  lines.push(`${s.controls} controls: ${s.byStatus.pass} pass, ${s.byStatus.fail} fail, ${s.byStatus.manual} manual, ${s.byStatus['not-run']} not run`);
  lines.push(
    s.compliant
      ? 'compliant: every binding control passes'
      : `not compliant: binding control(s) not passing: ${s.bindingNotPassed.join(', ')} (details: --format json)`,
  );
  return lines.join('\n') + '\n';
}

function summaryLine(r: ComplianceReport['results'][number]): string {
  const bad = r.findings.filter((f) => f.status === r.status);
  if (r.status === 'pass' && r.findings.length > 1) return `all ${r.findings.length} sites pass`;
  const first = bad[0] ?? r.findings[0];
  if (!first) return '';
  const more = bad.length > 1 ? ` (+${bad.length - 1} more ${r.status})` : '';
  const text = `${first.site ? `${first.site}: ` : ''}${first.message}`;
  return (text.length > 90 ? `${text.slice(0, 89)}…` : text) + more;
}
