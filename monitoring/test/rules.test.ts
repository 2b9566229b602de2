import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { buildRules, renderMonitoring } from '../index.js';

const hasPromtool = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'jinbao-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const [rel, text] of Object.entries(renderMonitoring())) {
  const path = join(dir, rel.replace('/', '-'));
  writeFileSync(path, text);
}
const ruleFiles = ['rules-jinbao-recording.rules.yml', 'rules-jinbao-alerting.rules.yml'];

/**
 * What each alert says, written out here rather than read from buildRules(): the rules are the code
 * under test, so the expectations must not come from them. `{{ $labels.x }}` and `{{ $value }}` are
 * filled in the way Prometheus fills them.
 */
const ANNOTATIONS: Record<string, { summary: string; description: string }> = {
  JinbaoExchangeErrorBudgetBurnFast: {
    summary: 'Inter-tier exchange at {{ $labels.site }} burns its error budget 14.4x (1h and 5m windows)',
    description: 'The error ratio is above 14.4x the budget over both 1h and 5m; the 99.9% availability objective allows 0.1% errors. At 14.4x a 30-day budget lasts 2.1 days.',
  },
  JinbaoExchangeErrorBudgetBurnMedium: {
    summary: 'Inter-tier exchange at {{ $labels.site }} burns its error budget 6x (6h and 30m windows)',
    description: 'The error ratio is above 6x the budget over both 6h and 30m; the 99.9% availability objective allows 0.1% errors. At 6x a 30-day budget lasts 5 days.',
  },
  JinbaoExchangeErrorBudgetBurnSlow: {
    summary: 'Inter-tier exchange at {{ $labels.site }} burns its error budget 1x (3d and 6h windows)',
    description: 'The error ratio is above 1x the budget over both 3d and 6h; the 99.9% availability objective allows 0.1% errors. At 1x a 30-day budget lasts 30 days.',
  },
  JinbaoCertificateExpiringSoon: { summary: '{{ $value }} {{ $labels.profile }} certificate(s) expire within 30 days', description: 'Renew them: jinbao pki list --expiring 30d' },
  JinbaoStaffRenewalsDue: { summary: '{{ $value }} staff certificate(s) at site {{ $labels.site }} expire within 30 days and their holders are still on the roster', description: 'Renew them: jinbao staff expiring --within 30d --site {{ $labels.site }}' },
  JinbaoCaExpiringSoon: { summary: 'CA {{ $labels.ca }} expires within 30 days', description: 'Every certificate it issued stops validating when it expires.' },
  JinbaoDrillTooOld: { summary: 'Site {{ $labels.site }} has not drilled in 90 days', description: 'Run one: jinbao drill run --site {{ $labels.site }} (GB/T 22239-2019 8.1.4.9).' },
  JinbaoDrillFailed: { summary: 'The latest DR drill of site {{ $labels.site }} ended {{ $labels.result }}', description: 'See jinbao drill list --json and the drill report; fix and drill again.' },
  JinbaoDrillNeverRun: { summary: 'Site {{ $labels.site }} has a DR pairing but no drill on record', description: 'Run one: jinbao drill run --site {{ $labels.site }}.' },
  JinbaoReplicationLagAboveRpo: {
    summary: 'Replication lag at {{ $labels.site }} is {{ $value }}s, above its RPO budget',
    description: 'A failover now would lose more data than the recovery-point objective allows (a 0 s objective is given 1 s of slack).',
  },
  JinbaoStandbyNotStreaming: {
    summary: 'The DR standby of {{ $labels.site }} is not streaming',
    description: 'Every write since it stopped would be lost in a failover, and a drill would refuse to start. See jinbao drill pair status (or drill lab status) for the site.',
  },
  JinbaoKpiBelowTarget: { summary: 'Binding indicator {{ $labels.indicator }} is below its target', description: 'The plan\'s binding target is not met: see jinbao kpi.' },
  JinbaoKpiBelowExpected: { summary: 'Expected indicator {{ $labels.indicator }} is below its target', description: 'The plan\'s expected target is not met: see jinbao kpi.' },
  JinbaoWanLinkDown: { summary: 'WAN link {{ $labels.spoke }} → {{ $labels.hub }} ({{ $labels.kind }}) is down', description: 'No answer or no WireGuard handshake younger than 180 s at the last check: see jinbao wan check.' },
  JinbaoBindingControlFailing: { summary: 'Binding compliance control {{ $labels.control }} fails', description: 'See jinbao comply for its evidence.' },
};

/** The alert as Prometheus fires it: `labels` is the complete label set, written out by each test (series labels and the rule's own). */
function expected(alertname: string, labels: Record<string, string>, value?: string) {
  const text = ANNOTATIONS[alertname];
  if (!text) throw new Error(`no expected annotations written for ${alertname}`);
  const fill = (t: string) => t.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '').replace(/\{\{ \$value \}\}/g, value ?? '');
  return { exp_labels: labels, exp_annotations: { summary: fill(text.summary), description: fill(text.description) } };
}

interface Series {
  series: string;
  values: string;
}
interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: ReturnType<typeof expected>[];
}

function promtoolTest(name: string, tests: { input_series: Series[]; alert_rule_test: AlertTest[] }[]) {
  const file = join(dir, `${name}.test.yml`);
  writeFileSync(file, stringify({ rule_files: ruleFiles, evaluation_interval: '1m', tests: tests.map((t) => ({ interval: '1m', ...t })) }, { lineWidth: 0 }));
  const r = spawnSync('promtool', ['test', 'rules', file], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Exchange traffic at one site: `ok` and `err` requests per minute for each of `minutes`, given as runs. */
function exchange(site: string, runs: { minutes: number; ok: number; err: number }[]): Series[] {
  const series = (outcome: 'success' | 'error', per: (r: { ok: number; err: number }) => number) => {
    let total = 0;
    const parts: string[] = [`${total}`];
    for (const r of runs) {
      parts.push(`${total + per(r)}+${per(r)}x${r.minutes - 1}`);
      total += per(r) * r.minutes;
    }
    return { series: `jinbao_exchange_requests_total{site="${site}",peer="000000",outcome="${outcome}"}`, values: parts.join(' ') };
  };
  return [series('success', (r) => r.ok), series('error', (r) => r.err)];
}

const page = { site: '440000', slo: 'exchange-availability', severity: 'page' };
const fires = (alertname: string, eval_time: string, labels: Record<string, string>, value?: string): AlertTest => ({ eval_time, alertname, exp_alerts: [expected(alertname, labels, value)] });
const silent = (alertname: string, eval_time: string): AlertTest => ({ eval_time, alertname, exp_alerts: [] });

describe.skipIf(!hasPromtool)('Prometheus rules (promtool; Debian package prometheus)', () => {
  it('GIVEN the rendered rule files WHEN promtool checks them THEN they are valid', () => {
    const r = spawnSync('promtool', ['check', 'rules', ...ruleFiles], { cwd: dir, encoding: 'utf8' });
    expect(r.stdout).toContain('SUCCESS: 8 rules found');
    expect(r.stdout).toContain('SUCCESS: 15 rules found');
    expect(r.status).toBe(0);
  });

  it('the unit tests can fail: a wrong expectation makes promtool test rules fail', () => {
    const r = promtoolTest('negative', [{ input_series: exchange('440000', [{ minutes: 80, ok: 1000, err: 0 }]), alert_rule_test: [fires('JinbaoExchangeErrorBudgetBurnFast', '70m', { site: '440000', slo: 'exchange-availability', severity: 'ticket' })] }]);
    expect(r.code).toBe(1);
    expect(r.output).toContain('FAILED');
  });

  it('burn rate 20x (2% errors) pages through the fast 1h & 5m pair', () => {
    const r = promtoolTest('burn-fast', [
      {
        input_series: exchange('440000', [{ minutes: 80, ok: 980, err: 20 }]),
        alert_rule_test: [fires('JinbaoExchangeErrorBudgetBurnFast', '70m', page), fires('JinbaoExchangeErrorBudgetBurnMedium', '70m', page)],
      },
    ]);
    expect(r.output).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('burn rate 10x (1% errors) pages through the 6h & 30m pair but not the fast pair', () => {
    const r = promtoolTest('burn-medium', [
      {
        input_series: exchange('440000', [{ minutes: 80, ok: 990, err: 10 }]),
        alert_rule_test: [silent('JinbaoExchangeErrorBudgetBurnFast', '70m'), fires('JinbaoExchangeErrorBudgetBurnMedium', '70m', page)],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('burn rate 3x (0.3% errors) opens a ticket through the 3d & 6h pair and pages no one', () => {
    const r = promtoolTest('burn-slow', [
      {
        input_series: exchange('440000', [{ minutes: 400, ok: 997, err: 3 }]),
        alert_rule_test: [
          fires('JinbaoExchangeErrorBudgetBurnSlow', '390m', { site: '440000', slo: 'exchange-availability', severity: 'ticket' }),
          silent('JinbaoExchangeErrorBudgetBurnMedium', '390m'),
          silent('JinbaoExchangeErrorBudgetBurnFast', '390m'),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('a burst that has stopped does not page: the 5m window must confirm the 1h one', () => {
    const r = promtoolTest('burn-reset', [
      {
        input_series: exchange('440000', [
          { minutes: 60, ok: 950, err: 50 },
          { minutes: 15, ok: 1000, err: 0 },
        ]),
        alert_rule_test: [silent('JinbaoExchangeErrorBudgetBurnFast', '72m')],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('certificates expiring within 30 days and an active CA expiring within 30 days alert; others and revoked CAs do not', () => {
    const r = promtoolTest('certs', [
      {
        input_series: [
          { series: 'jinbao_pki_certificates_expiring_30d{profile="staff-auth"}', values: '3x10' },
          { series: 'jinbao_pki_certificates_expiring_30d{profile="replica-mtls"}', values: '0x10' },
          { series: 'jinbao_staff_renewals_due_30d{site="440100"}', values: '4x10' },
          { series: 'jinbao_staff_renewals_due_30d{site="440300"}', values: '0x10' },
          { series: 'jinbao_pki_ca_expiry_seconds{ca="ministry-staff",status="active"}', values: `${29 * 86400}x10` },
          { series: 'jinbao_pki_ca_expiry_seconds{ca="old-staff",status="revoked"}', values: `${2 * 86400}x10` },
          { series: 'jinbao_pki_ca_expiry_seconds{ca="root",status="active"}', values: `${31 * 86400}x10` },
        ],
        alert_rule_test: [
          fires('JinbaoCertificateExpiringSoon', '5m', { profile: 'staff-auth', severity: 'ticket' }, '3'),
          fires('JinbaoStaffRenewalsDue', '5m', { site: '440100', severity: 'ticket' }, '4'),
          fires('JinbaoCaExpiringSoon', '5m', { ca: 'ministry-staff', status: 'active', severity: 'page' }),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('a drill older than 90 days, a failed latest drill, and a DR pairing never drilled each alert; a recent pass does not', () => {
    const r = promtoolTest('drills', [
      {
        input_series: [
          { series: 'jinbao_dr_last_drill_age_seconds{site="440000"}', values: `${91 * 86400}x90` },
          { series: 'jinbao_dr_last_passed{site="440000",result="passed"}', values: '1x90' },
          { series: 'jinbao_dr_last_drill_age_seconds{site="110000"}', values: '3600x90' },
          { series: 'jinbao_dr_last_passed{site="110000",result="failed"}', values: '0x90' },
          { series: 'jinbao_dr_last_drill_age_seconds{site="000000"}', values: '60x90' },
          { series: 'jinbao_dr_last_passed{site="000000",result="passed"}', values: '1x90' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="000000",tier="ministry"}', values: '0x90' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="440000",tier="province"}', values: '0x90' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="110000",tier="province"}', values: '0x90' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="120000",tier="province"}', values: '0x90' },
        ],
        alert_rule_test: [
          fires('JinbaoDrillTooOld', '5m', { site: '440000', severity: 'ticket' }),
          fires('JinbaoDrillFailed', '5m', { site: '110000', result: 'failed', severity: 'ticket' }),
          silent('JinbaoDrillNeverRun', '30m'),
          fires('JinbaoDrillNeverRun', '70m', { site: '120000', tier: 'province', severity: 'ticket' }),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('replication lag above the RPO objective alerts after 2 minutes; a 0 s objective gets 1 s of slack', () => {
    const r = promtoolTest('lag', [
      {
        input_series: [
          { series: 'jinbao_dr_replication_lag_seconds{site="440000"}', values: '3x10' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="440000",tier="province"}', values: '0x10' },
          { series: 'jinbao_dr_replication_lag_seconds{site="440100"}', values: '3x10' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="440100",tier="prefecture"}', values: '5x10' },
          { series: 'jinbao_dr_replication_lag_seconds{site="110000"}', values: '0.5x10' },
          { series: 'jinbao_dr_rpo_objective_seconds{site="110000",tier="province"}', values: '0x10' },
          { series: 'jinbao_dr_standby_streaming{site="440000"}', values: '1x10' },
          { series: 'jinbao_dr_standby_streaming{site="110000"}', values: '0x10' },
        ],
        alert_rule_test: [
          silent('JinbaoReplicationLagAboveRpo', '1m'),
          fires('JinbaoReplicationLagAboveRpo', '5m', { site: '440000', severity: 'page' }, '3'),
          silent('JinbaoStandbyNotStreaming', '1m'),
          fires('JinbaoStandbyNotStreaming', '5m', { site: '110000', severity: 'page' }),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('a binding indicator below target alerts as a ticket, an expected one as info, after 15 minutes', () => {
    const r = promtoolTest('kpi', [
      {
        input_series: [
          { series: 'jinbao_kpi_met{indicator="dc-standard-prefecture",kind="binding"}', values: '0x30' },
          { series: 'jinbao_kpi_met{indicator="social-security-card",kind="binding"}', values: '1x30' },
          { series: 'jinbao_kpi_met{indicator="metro-coverage",kind="expected"}', values: '0x30' },
        ],
        alert_rule_test: [
          silent('JinbaoKpiBelowTarget', '10m'),
          fires('JinbaoKpiBelowTarget', '20m', { indicator: 'dc-standard-prefecture', kind: 'binding', severity: 'ticket' }),
          fires('JinbaoKpiBelowExpected', '20m', { indicator: 'metro-coverage', kind: 'expected', severity: 'info' }),
        ],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('a WAN link down for 2 minutes alerts; a flap of one minute does not', () => {
    const r = promtoolTest('wan', [
      {
        input_series: [
          { series: 'jinbao_wan_link_up{hub="000000",spoke="440000",kind="primary"}', values: '1 0 0 0 0 0' },
          { series: 'jinbao_wan_link_up{hub="dr-000000",spoke="440000",kind="secondary"}', values: '1 0 1 1 1 1' },
        ],
        alert_rule_test: [fires('JinbaoWanLinkDown', '4m', { hub: '000000', spoke: '440000', kind: 'primary', severity: 'page' })],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });

  it('a failing binding compliance control alerts; an advisory one does not', () => {
    const r = promtoolTest('compliance', [
      {
        input_series: [
          { series: 'jinbao_compliance_control{control="MLPS-AUD-01",binding="true",severity="critical",status="fail"}', values: '1x5' },
          { series: 'jinbao_compliance_control{control="GM-CRY-02",binding="false",severity="medium",status="fail"}', values: '1x5' },
        ],
        alert_rule_test: [fires('JinbaoBindingControlFailing', '2m', { control: 'MLPS-AUD-01', binding: 'true', severity: 'ticket', status: 'fail' })],
      },
    ]);
    expect(r.code, r.output).toBe(0);
  });
});

describe('rules and dashboard rendering', () => {
  it('refuses an SLO outside (0, 1)', () => {
    expect(() => buildRules({ exchangeSlo: 1 })).toThrow('exchangeSlo must be between 0 and 1 (exclusive), got 1');
  });

  it('the Grafana dashboard references only recorded series or metrics the rules know', () => {
    const dash = JSON.parse(readFileSync(join(dir, 'grafana-jinbao-posture.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[]; uid: string };
    expect(dash.uid).toBe('jinbao-posture');
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const recorded = buildRules().recording.groups.flatMap((g) => g.rules.map((r) => r.record!));
    for (const name of exprs.flatMap((e) => e.match(/jinbao:[a-z_:0-9]+/g) ?? [])) expect(recorded).toContain(name);
  });
});
