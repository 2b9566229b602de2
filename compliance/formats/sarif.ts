import { packageVersion } from '../../lib/package-info.js';
import type { ComplianceReport, Severity, Status } from '../model.js';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note' };
const KIND: Record<Status, 'pass' | 'fail' | 'review' | 'notApplicable' | 'open'> = { pass: 'pass', fail: 'fail', manual: 'review', 'not-run': 'open' };

/**
 * SARIF 2.1.0: one rule per control, one result per finding. Findings that are not failures keep
 * their kind (pass / review / open) with level "none", so code-scanning tools list only failures
 * as alerts. Each result is located logically at its site (or the fabric) and physically at the
 * inventory, which is what the checks read.
 */
export function renderSarif(report: ComplianceReport, opts: { inventoryUri?: string } = {}): object {
  const rules = report.results.map((r) => {
    const c = r.control;
    const clause = c.source.kind === 'mlps' ? `${c.source.standard} ${c.source.clause}` : `plan indicator ${c.source.indicator}`;
    return {
      id: c.id,
      name: c.id.replace(/[^A-Za-z0-9]+/g, ''),
      shortDescription: { text: c.title },
      fullDescription: { text: `${clause}: ${c.source.text}` },
      help: { text: `How it is checked: ${c.how}`, markdown: `**${clause}** — ${c.source.text}\n\nHow it is checked: ${c.how}` },
      defaultConfiguration: { level: LEVEL[c.severity] },
      properties: { tags: ['compliance', c.source.kind === 'mlps' ? 'mlps-2.0-level-3' : 'plan-target', c.inspects], severity: c.severity, binding: c.binding, scope: c.scope },
    };
  });
  const results = report.results.flatMap((r, ruleIndex) =>
    r.findings.map((f) => ({
      ruleId: r.control.id,
      ruleIndex,
      kind: KIND[f.status],
      level: f.status === 'fail' ? LEVEL[r.control.severity] : 'none',
      message: { text: `${f.site ? `${f.site}: ` : ''}${f.message}` },
      locations: [
        {
          ...(opts.inventoryUri ? { physicalLocation: { artifactLocation: { uri: opts.inventoryUri } } } : {}),
          logicalLocations: [f.site ? { name: f.site, fullyQualifiedName: `sites/${f.site}`, kind: 'site' } : { name: 'fabric', fullyQualifiedName: 'fabric', kind: 'fabric' }],
        },
      ],
      properties: { status: f.status, provenance: [...new Set(f.evidence.map((e) => e.provenance ?? 'declared'))], evidence: f.evidence.map((e) => ({ source: e.source, provenance: e.provenance ?? 'declared', detail: e.detail })) },
    })),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'jinbao comply', version: packageVersion(), rules } },
        invocations: [{ executionSuccessful: true, endTimeUtc: report.generatedAt }],
        results,
        properties: { inventory: report.inventory.name, sampleData: report.inventory.sampleData, compliant: report.summary.compliant, ...(report.site ? { site: report.site } : {}) },
      },
    ],
  };
}
