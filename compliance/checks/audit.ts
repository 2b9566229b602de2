import type { Check } from '../inputs.js';
import { days, fail, isoDate, pass } from './verdict.js';

export const AUDIT_RETENTION_DAYS = 180;

/** The audit log's hash chain verifies from its first record to its last. */
export const auditChain: Check = (inputs) => {
  const a = inputs.audit!;
  const evidence = [{ source: 'audit', detail: `${a.entries} record(s); chain ${a.verified ? 'verifies' : `broken at ${a.firstBroken ?? 'an unnamed entry'}`}` }];
  if (a.entries === 0) return [fail('the audit log is empty: nothing records the security-relevant changes', evidence)];
  return a.verified ? [pass(`the hash chain over ${a.entries} records verifies`, evidence)] : [fail(`the audit chain is broken at ${a.firstBroken ?? 'an unnamed entry'}: a record was altered, removed or reordered`, evidence)];
};

/** Audit records are kept at least 180 days: the retention allows it and nothing younger was pruned. */
export const auditRetention: Check = (inputs) => {
  const a = inputs.audit!;
  const evidence = [
    { source: 'audit', detail: `retention: ${a.retentionDays === undefined ? 'kept forever' : `${a.retentionDays} days`}` },
    { source: 'audit', detail: `oldest record: ${a.oldestAt ? isoDate(a.oldestAt) : 'none'}; genesis record ${a.genesisRetained ? 'retained' : 'pruned'}` },
  ];
  if (a.retentionDays !== undefined && a.retentionDays < AUDIT_RETENTION_DAYS) {
    return [fail(`audit retention is ${a.retentionDays} days, want at least ${AUDIT_RETENTION_DAYS}`, evidence)];
  }
  if (!a.genesisRetained) {
    const age = a.oldestAt ? days(inputs.now.getTime() - a.oldestAt.getTime()) : 0;
    if (age < AUDIT_RETENTION_DAYS) return [fail(`records were pruned and the oldest kept is ${age} days old, want at least ${AUDIT_RETENTION_DAYS}`, evidence)];
  }
  const since = a.oldestAt ? days(inputs.now.getTime() - a.oldestAt.getTime()) : 0;
  return [pass(`nothing pruned younger than ${AUDIT_RETENTION_DAYS} days (history spans ${since} day(s))`, evidence)];
};

