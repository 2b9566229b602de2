import { Gauge, type Registry } from 'prom-client';
import { STATUSES, type ComplianceReport } from './model.js';

/**
 * Compliance results as metrics: one state-set gauge per control (1 for its current status) and
 * the overall verdict. The catalogue runs at most once per `maxAgeMs` however often Prometheus scrapes.
 */
export function registerComplianceMetrics(registry: Registry, run: () => Promise<ComplianceReport>, opts: { maxAgeMs?: number; now?: () => number } = {}): void {
  const maxAge = opts.maxAgeMs ?? 60_000;
  const now = opts.now ?? Date.now;
  let cached: { at: number; report: Promise<ComplianceReport> } | undefined;
  const current = () => {
    if (!cached || now() - cached.at > maxAge) {
      const report = run();
      cached = { at: now(), report };
      report.catch(() => (cached = undefined));
    }
    return cached.report;
  };
  const registers = [registry];
  new Gauge({
    name: 'jinbao_compliance_control',
    help: 'Compliance control status: 1 for the status the control has now (pass, fail, manual, not-run).',
    labelNames: ['control', 'binding', 'severity', 'status'],
    registers,
    async collect() {
      const report = await current();
      this.reset();
      for (const r of report.results)
        for (const status of STATUSES)
          this.set({ control: r.control.id, binding: String(r.control.binding), severity: r.control.severity, status }, r.status === status ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_compliance_compliant',
    help: '1 when every binding compliance control passes, else 0.',
    registers,
    async collect() {
      this.set((await current()).summary.compliant ? 1 : 0);
    },
  });
}
