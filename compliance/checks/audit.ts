import type { Check } from '../inputs.js';
import { said } from '../message.js';
import { days, fail, isoDate, pass } from './verdict.js';

export const AUDIT_RETENTION_DAYS = 180;

/** The audit log's hash chain verifies from its first record to its last. */
export const auditChain: Check = (inputs) => {
  const a = inputs.audit!;
  const evidence = [{ source: 'audit', detail: `${a.entries} record(s); chain ${a.verified ? 'verifies' : `broken at ${a.firstBroken ?? 'an unnamed entry'}`}` }];
  if (a.entries === 0) return [fail(said('audit.chain.empty'), evidence)];
  return a.verified ? [pass(said('audit.chain.pass', { count: a.entries }), evidence)] : [fail(said('audit.chain.broken', { at: a.firstBroken ?? said('audit.chain.unnamed') }), evidence)];
};

/** Audit records are kept at least 180 days: the retention allows it and nothing younger was pruned. */
export const auditRetention: Check = (inputs) => {
  const a = inputs.audit!;
  const evidence = [
    { source: 'audit', detail: `retention: ${a.retentionDays === undefined ? 'kept forever' : `${a.retentionDays} days`}` },
    { source: 'audit', detail: `oldest record: ${a.oldestAt ? isoDate(a.oldestAt) : 'none'}; genesis record ${a.genesisRetained ? 'retained' : 'pruned'}` },
  ];
  if (a.retentionDays !== undefined && a.retentionDays < AUDIT_RETENTION_DAYS) {
    return [fail(said('audit.retention.short', { days: a.retentionDays, want: AUDIT_RETENTION_DAYS }), evidence)];
  }
  if (!a.genesisRetained) {
    const age = a.oldestAt ? days(inputs.now.getTime() - a.oldestAt.getTime()) : 0;
    if (age < AUDIT_RETENTION_DAYS) return [fail(said('audit.retention.pruned', { age, want: AUDIT_RETENTION_DAYS }), evidence)];
  }
  const since = a.oldestAt ? days(inputs.now.getTime() - a.oldestAt.getTime()) : 0;
  return [pass(said('audit.retention.pass', { want: AUDIT_RETENTION_DAYS, since }), evidence)];
};


/** The audit table refuses UPDATE and DELETE (triggers in the state database), so records are only ever added. */
export const auditAppendOnly: Check = (inputs) => {
  const a = inputs.audit!;
  const evidence = [{ source: 'audit', detail: `insert-only triggers on audit_log: ${a.appendOnly ? 'present' : 'absent'}` }];
  return a.appendOnly ? [pass(said('audit.appendOnly.pass'), evidence)] : [fail(said('audit.appendOnly.missing'), evidence)];
};
