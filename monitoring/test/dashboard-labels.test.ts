import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { LocalOpsContext } from '../../orchestration/context.js';
import { exporterRegistry } from '../../orchestration/metrics.js';
import { buildDashboard } from '../index.js';

const tmp = tempDir('jinbao-dashboard-');
afterAll(() => tmp.cleanup());

describe('the Grafana dashboard against the exporter', () => {
  it('GIVEN every metric the exporter registers THEN each panel legend names only labels its metric has', () => {
    // The registry exactly as `jinbao exporter` builds it (nothing is collected: only names and labels are read).
    const registry = exporterRegistry(new LocalOpsContext({ stateDir: tmp.dir }), []);
    const dash = buildDashboard() as { panels: { title: string; targets: { expr: string; legendFormat?: string }[] }[] };
    const checked: string[] = [];
    for (const panel of dash.panels) {
      for (const t of panel.targets) {
        // Only targets that are a metric name, perhaps compared with a number: their labels are the metric's own.
        const name = /^([a-z_][a-z0-9_]*)(\s*(==|!=|>=|<=|>|<)\s*[\d.]+)?$/.exec(t.expr)?.[1];
        const metric = name === undefined ? undefined : registry.getSingleMetric(name);
        if (!metric || !t.legendFormat) continue;
        const labels = (metric as unknown as { labelNames: readonly string[] }).labelNames;
        for (const [, label] of t.legendFormat.matchAll(/\{\{(\w+)\}\}/g)) expect(labels, `${panel.title}: ${t.expr} legend {{${label}}}`).toContain(label);
        checked.push(name!);
      }
    }
    expect(checked).toEqual(expect.arrayContaining(['jinbao_pki_certificates_expiring_30d', 'jinbao_dr_replication_lag_seconds', 'jinbao_dr_last_rto_seconds', 'jinbao_compliance_control']));
  });
});
