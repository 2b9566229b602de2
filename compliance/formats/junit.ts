import type { ComplianceReport } from '../model.js';

function esc(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/**
 * JUnit XML as Jenkins, GitLab and GitHub test reporters read it: one testsuite, one testcase per
 * control; fail → <failure>, not-run and manual → <skipped> with the reason.
 */
export function renderJunit(report: ComplianceReport): string {
  const r = report.results;
  const failures = r.filter((x) => x.status === 'fail').length;
  const skipped = r.filter((x) => x.status === 'not-run' || x.status === 'manual').length;
  const suite = `jinbao comply${report.site ? ` --site ${report.site}` : ''}`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${esc(suite)}" tests="${r.length}" failures="${failures}" errors="0" skipped="${skipped}">`,
    `  <testsuite name="${esc(suite)}" tests="${r.length}" failures="${failures}" errors="0" skipped="${skipped}" timestamp="${report.generatedAt.replace(/Z$/, '')}">`,
  ];
  for (const x of r) {
    const c = x.control;
    const clause = c.source.kind === 'mlps' ? `${c.source.standard} ${c.source.clause}` : `plan indicator ${c.source.indicator}`;
    out.push(`    <testcase classname="${esc(`jinbao.${c.inspects}`)}" name="${esc(`${c.id} ${c.title}`)}">`);
    const details = x.findings.map((f) => `${f.status.toUpperCase()} ${f.site ? `${f.site}: ` : ''}${f.message}\n${f.evidence.map((e) => `  [${e.source}, ${e.provenance ?? 'declared'}] ${e.detail}`).join('\n')}`).join('\n');
    if (x.status === 'fail') {
      const first = x.findings.find((f) => f.status === 'fail');
      out.push(`      <failure message="${esc(first?.message ?? 'failed')}" type="${esc(`${c.severity}${c.binding ? ' binding' : ''}`)}">${esc(`${clause}\n${details}`)}</failure>`);
    } else if (x.status !== 'pass') {
      const first = x.findings.find((f) => f.status === x.status);
      out.push(`      <skipped message="${esc(`${x.status}: ${first?.message ?? ''}`)}"/>`);
    }
    out.push(`      <system-out>${esc(`${clause}\n${details}`)}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}
