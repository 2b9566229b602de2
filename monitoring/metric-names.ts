/**
 * The metric names the rules and the dashboard read. Features register these on the shared
 * registry (orchestration/metrics.ts); the ones jinbao derives from the inventory are registered in
 * monitoring/registry.ts. docs/monitoring.md lists who provides each.
 */
export const METRICS = {
  /** gauge {indicator, kind}: 1 met, 0 not met (monitoring/registry.ts). */
  kpiMet: 'jinbao_kpi_met',
  kpiActual: 'jinbao_kpi_actual_percent',
  kpiTarget: 'jinbao_kpi_target_percent',
  /** gauge {indicator, kind}: an indicator counted in people (card holders), actual and target (monitoring/registry.ts). */
  kpiActualPeople: 'jinbao_kpi_actual_people',
  kpiTargetPeople: 'jinbao_kpi_target_people',
  /** gauge {site}: the recovery-point objective, seconds (monitoring/registry.ts, from the fabric). */
  rpoObjective: 'jinbao_dr_rpo_objective_seconds',
  rtoObjective: 'jinbao_dr_rto_objective_seconds',
  /** gauge {site}: replay lag of the site's streaming DR standby, seconds (dr-runbooks/operations/metrics.ts, sampled by the exporter). */
  replicationLag: 'jinbao_dr_replication_lag_seconds',
  /** gauge {site}: 1 when the site's DR standby streams on its primary's timeline, else 0 (as above). */
  standbyStreaming: 'jinbao_dr_standby_streaming',
  /** gauge {site}: seconds since the site's latest drill finished (dr-runbooks/operations/metrics.ts). */
  drillAge: 'jinbao_dr_last_drill_age_seconds',
  /** gauge {site, result}: 1 when the site's latest drill passed, else 0 (dr-runbooks). */
  drillPassed: 'jinbao_dr_last_passed',
  /** gauge {site, scenario}: RTO measured by the latest drill, seconds; rows lost (dr-runbooks). */
  drillRto: 'jinbao_dr_last_rto_seconds',
  drillRpoRows: 'jinbao_dr_last_rpo_rows',
  /** gauge {ca, status}: seconds until the CA certificate expires, negative once expired (pki). */
  caSecondsToExpiry: 'jinbao_pki_ca_expiry_seconds',
  /** gauge {profile}: active certificates expiring within 30 days (pki). */
  certificatesExpiring: 'jinbao_pki_certificates_expiring_30d',
  /** gauge {site}: staff certificates expiring within 30 days whose holder is still on the roster (staff). */
  staffRenewalsDue: 'jinbao_staff_renewals_due_30d',
  /** gauge {hub, spoke, kind}: 1 when the WAN link answered at the last check with a fresh handshake (network). */
  wanLinkUp: 'jinbao_wan_link_up',
  /** counter {site, peer, outcome="success"|"error"}: inter-tier exchange requests (exchange services). */
  exchangeRequests: 'jinbao_exchange_requests_total',
  /** gauge {control, binding, severity, status}: 1 for the control's current status (compliance). */
  complianceControl: 'jinbao_compliance_control',
  /** gauge: 1 when every binding control passes (compliance). */
  compliant: 'jinbao_compliance_compliant',
} as const;
