import { readFileSync } from 'node:fs';
import type { Check } from '../inputs.js';
import { said } from '../message.js';
import { fail, pass } from './verdict.js';

/** Alerts that central monitoring must have, by name (monitoring/rules.ts renders them). */
export const REQUIRED_ALERTS = ['JinbaoCertificateExpiringSoon', 'JinbaoDrillTooOld', 'JinbaoWanLinkDown', 'JinbaoReplicationLagAboveRpo'] as const;

/** The rendered alerting rules are accepted by promtool and watch certificates, drills, replication and WAN links. */
export const centralMonitoring: Check = async (inputs, env) => {
  const files = inputs.monitoring!.ruleFiles;
  const r = await env.tools.run('promtool', ['check', 'rules', ...files]);
  const out = (r.stdout + r.stderr).trim();
  const evidence = [{ source: 'promtool', detail: `promtool check rules ${files.length} file(s) → exit ${r.code}: ${out.split('\n').filter((l) => /SUCCESS|FAILED|error/i.test(l)).slice(0, 4).join(' / ')}` }];
  if (r.code !== 0) return [fail(said('monitoring.rejected'), evidence)];
  const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  const missing = REQUIRED_ALERTS.filter((a) => !text.includes(`alert: ${a}`));
  return missing.length === 0
    ? [pass(said('monitoring.pass', { alerts: REQUIRED_ALERTS.join(', ') }), evidence)]
    : [fail(said('monitoring.missing', { alerts: missing.join(', ') }), evidence)];
};
