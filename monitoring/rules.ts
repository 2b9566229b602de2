import { stringify } from 'yaml';
import { METRICS as M } from './metric-names.js';

/** One burn-rate alert of the multi-window, multi-burn-rate scheme (Google SRE workbook, ch. 5). */
export interface BurnRateWindow {
  readonly long: string;
  readonly short: string;
  readonly factor: number;
  readonly severity: 'page' | 'ticket';
  readonly name: string;
}

/** 2% of a 30-day budget in 1 h, 5% in 6 h, 10% in 3 d; each confirmed by a short window (1/12). */
export const BURN_RATE_WINDOWS: readonly BurnRateWindow[] = [
  { long: '1h', short: '5m', factor: 14.4, severity: 'page', name: 'JinbaoExchangeErrorBudgetBurnFast' },
  { long: '6h', short: '30m', factor: 6, severity: 'page', name: 'JinbaoExchangeErrorBudgetBurnMedium' },
  { long: '3d', short: '6h', factor: 1, severity: 'ticket', name: 'JinbaoExchangeErrorBudgetBurnSlow' },
];

export interface RulesOptions {
  /** Availability objective of the inter-tier exchange. @default 0.999 */
  readonly exchangeSlo?: number;
  /** Days before expiry that a certificate alerts. @default 30 */
  readonly certificateWarningDays?: number;
  /** Maximum age of the last passed drill. @default 90 */
  readonly drillMaxAgeDays?: number;
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RenderedRules {
  readonly recording: { groups: { name: string; interval?: string; rules: Rule[] }[] };
  readonly alerting: { groups: { name: string; rules: Rule[] }[] };
}

const ratio = (w: string) => `jinbao:exchange_error_ratio:rate${w}`;

/** Recording and alerting rules, as Prometheus rule-file documents. */
export function buildRules(opts: RulesOptions = {}): RenderedRules {
  const slo = opts.exchangeSlo ?? 0.999;
  if (!(slo > 0 && slo < 1)) throw new RangeError(`exchangeSlo must be between 0 and 1 (exclusive), got ${slo}`);
  const budget = +(1 - slo).toPrecision(6);
  const certDays = opts.certificateWarningDays ?? 30;
  const drillDays = opts.drillMaxAgeDays ?? 90;
  const windows = [...new Set(BURN_RATE_WINDOWS.flatMap((w) => [w.long, w.short]))];

  const recording: Rule[] = windows.map((w) => ({
    record: ratio(w),
    expr: `sum by (site) (rate(${M.exchangeRequests}{outcome="error"}[${w}])) / sum by (site) (rate(${M.exchangeRequests}[${w}]))`,
  }));
  recording.push(
    { record: 'jinbao:kpi_gap_percent', expr: `${M.kpiTarget} - on (indicator, kind) ${M.kpiActual}` },
    { record: 'jinbao:drill_age_days', expr: `${M.drillAge} / 86400` },
    { record: 'jinbao:compliance_binding_failing:count', expr: `count(${M.complianceControl}{binding="true", status="fail"} == 1) or vector(0)` },
  );

  const burn: Rule[] = BURN_RATE_WINDOWS.map((w) => ({
    alert: w.name,
    expr: `${ratio(w.long)} > (${w.factor} * ${budget}) and ${ratio(w.short)} > (${w.factor} * ${budget})`,
    labels: { severity: w.severity, slo: 'exchange-availability' },
    annotations: {
      summary: `Inter-tier exchange at {{ $labels.site }} burns its error budget ${w.factor}x (${w.long} and ${w.short} windows)`,
      description: `The error ratio is above ${w.factor}x the budget over both ${w.long} and ${w.short}; the ${+(slo * 100).toPrecision(6)}% availability objective allows ${+(budget * 100).toPrecision(6)}% errors. At ${w.factor}x a 30-day budget lasts ${+(30 / w.factor).toFixed(1)} days.`,
    },
  }));

  const alerts: Rule[] = [
    {
      alert: 'JinbaoCertificateExpiringSoon',
      expr: `${M.certificatesExpiring} > 0`,
      labels: { severity: 'ticket' },
      annotations: { summary: `{{ $value }} {{ $labels.profile }} certificate(s) expire within ${certDays} days`, description: 'Renew them: jinbao pki list --expiring 30d' },
    },
    {
      alert: 'JinbaoStaffRenewalsDue',
      expr: `${M.staffRenewalsDue} > 0`,
      labels: { severity: 'ticket' },
      annotations: { summary: '{{ $value }} staff certificate(s) at site {{ $labels.site }} expire within 30 days and their holders are still on the roster', description: 'Renew them: jinbao staff expiring --within 30d --site {{ $labels.site }}' },
    },
    {
      alert: 'JinbaoCaExpiringSoon',
      expr: `${M.caSecondsToExpiry}{status="active"} < ${certDays} * 86400`,
      labels: { severity: 'page' },
      annotations: { summary: `CA {{ $labels.ca }} expires within ${certDays} days`, description: 'Every certificate it issued stops validating when it expires.' },
    },
    {
      alert: 'JinbaoDrillTooOld',
      expr: `${M.drillAge} > ${drillDays} * 86400`,
      labels: { severity: 'ticket' },
      annotations: { summary: `Site {{ $labels.site }} has not drilled in ${drillDays} days`, description: 'Run one: jinbao drill run --site {{ $labels.site }} (GB/T 22239-2019 8.1.4.9).' },
    },
    {
      alert: 'JinbaoDrillFailed',
      expr: `${M.drillPassed} == 0`,
      labels: { severity: 'ticket' },
      annotations: { summary: 'The latest DR drill of site {{ $labels.site }} ended {{ $labels.result }}', description: 'See jinbao drill list --json and the drill report; fix and drill again.' },
    },
    {
      alert: 'JinbaoDrillNeverRun',
      expr: `${M.rpoObjective} unless on (site) ${M.drillAge}`,
      for: '1h',
      labels: { severity: 'ticket' },
      annotations: { summary: 'Site {{ $labels.site }} has a DR pairing but no drill on record', description: 'Run one: jinbao drill run --site {{ $labels.site }}.' },
    },
    {
      alert: 'JinbaoReplicationLagAboveRpo',
      expr: `${M.replicationLag} > on (site) clamp_min(${M.rpoObjective}, 1)`,
      for: '2m',
      labels: { severity: 'page' },
      annotations: { summary: `Replication lag at {{ $labels.site }} is {{ $value }}s, above its RPO budget`, description: 'A failover now would lose more data than the recovery-point objective allows (a 0 s objective is given 1 s of slack).' },
    },
    {
      alert: 'JinbaoStandbyNotStreaming',
      expr: `${M.standbyStreaming} == 0`,
      for: '2m',
      labels: { severity: 'page' },
      annotations: { summary: 'The DR standby of {{ $labels.site }} is not streaming', description: 'Every write since it stopped would be lost in a failover, and a drill would refuse to start. See jinbao drill pair status (or drill lab status) for the site.' },
    },
    {
      alert: 'JinbaoKpiBelowTarget',
      expr: `${M.kpiMet}{kind="binding"} == 0`,
      for: '15m',
      labels: { severity: 'ticket' },
      annotations: { summary: 'Binding indicator {{ $labels.indicator }} is below its target', description: "The plan's binding target is not met: see jinbao kpi." },
    },
    {
      alert: 'JinbaoKpiBelowExpected',
      expr: `${M.kpiMet}{kind="expected"} == 0`,
      for: '15m',
      labels: { severity: 'info' },
      annotations: { summary: 'Expected indicator {{ $labels.indicator }} is below its target', description: "The plan's expected target is not met: see jinbao kpi." },
    },
    {
      alert: 'JinbaoWanLinkDown',
      expr: `${M.wanLinkUp} == 0`,
      for: '2m',
      labels: { severity: 'page' },
      annotations: { summary: 'WAN link {{ $labels.spoke }} → {{ $labels.hub }} ({{ $labels.kind }}) is down', description: 'No answer or no WireGuard handshake younger than 180 s at the last check: see jinbao wan check.' },
    },
    {
      alert: 'JinbaoBindingControlFailing',
      expr: `${M.complianceControl}{binding="true", status="fail"} == 1`,
      labels: { severity: 'ticket' },
      annotations: { summary: 'Binding compliance control {{ $labels.control }} fails', description: 'See jinbao comply for its evidence.' },
    },
  ];

  return {
    recording: { groups: [{ name: 'jinbao-recording', rules: recording }] },
    alerting: {
      groups: [
        { name: 'jinbao-exchange-slo', rules: burn },
        { name: 'jinbao-operations', rules: alerts },
      ],
    },
  };
}

/** The rule files `jinbao monitoring render` writes, by file name. */
export function renderRuleFiles(opts: RulesOptions = {}): Record<string, string> {
  const rules = buildRules(opts);
  const header = '# Generated by jinbao monitoring render; edit monitoring/rules.ts instead.\n';
  return {
    'jinbao-recording.rules.yml': header + stringify(rules.recording, { lineWidth: 0 }),
    'jinbao-alerting.rules.yml': header + stringify(rules.alerting, { lineWidth: 0 }),
  };
}
