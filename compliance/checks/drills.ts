import type { Check, DrillRun } from '../inputs.js';
import type { Evidence, Provenance } from '../model.js';
import { said } from '../message.js';
import { DAY_MS, days, fail, isoDate, notRun, pass } from './verdict.js';

export const DRILL_MAX_AGE_DAYS = 90;

/** A drill against a real pair is observed evidence; one on the embedded lab is lab evidence. */
export function drillProvenance(run: Pick<DrillRun, 'target'>): Provenance {
  return run.target === 'pg' ? 'observed' : 'lab';
}

function where(run: DrillRun): string {
  return run.target === 'pg' ? 'real pair (--target pg)' : `embedded lab (--target ${run.target})`;
}

function runLine(run: DrillRun): Evidence {
  const figures = `${run.rtoSeconds !== undefined ? `, RTO ${run.rtoSeconds} s` : ''}${run.rpoSeconds !== undefined ? `, RPO ${run.rpoSeconds} s` : ''}${run.rpoRows !== undefined ? `, ${run.rpoRows} row(s) lost` : ''}`;
  return { source: 'drills', provenance: drillProvenance(run), detail: `${run.passed ? 'passed' : 'failed'}: ${run.id} on the ${where(run)}, ${isoDate(run.finishedAt)}${figures}`, value: run };
}

/**
 * Every DR pairing had a passed drill (restore + real-time off-site replication proven) in the last
 * 90 days. The newest passed drill against the real pair decides; when only the lab passed, the
 * lab run is the evidence, and the control (which accepts observed evidence only) reports it as
 * not proven.
 */
export const recentPassedDrill: Check = (inputs, env) => {
  const runs = inputs.drills!.runs;
  const cutoff = inputs.now.getTime() - DRILL_MAX_AGE_DAYS * DAY_MS;
  return env.sites
    .filter((s) => s.dr !== undefined)
    .map((s) => {
      const mine = runs.filter((r) => r.site === s.id).sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime());
      const real = mine.filter((r) => r.target === 'pg');
      const lastPassed = real.find((r) => r.passed) ?? mine.find((r) => r.passed);
      const evidence: Evidence[] = [
        { source: 'drills', provenance: 'observed', detail: `${mine.length} drill(s) for ${s.id} (${real.length} against the real pair); last: ${mine[0] ? `${mine[0].id} ${mine[0].passed ? 'passed' : 'failed'} ${isoDate(mine[0].finishedAt)}` : 'none'}` },
        ...(lastPassed ? [runLine(lastPassed)] : []),
      ];
      if (!lastPassed) return fail(said('drills.none', { name: s.name, id: s.id }), evidence, s.id);
      const age = days(inputs.now.getTime() - lastPassed.finishedAt.getTime());
      return lastPassed.finishedAt.getTime() >= cutoff
        ? pass(said('drills.pass', { name: s.name, age }), evidence, s.id)
        : fail(said('drills.old', { name: s.name, age, max: DRILL_MAX_AGE_DAYS }), evidence, s.id);
    });
};

/**
 * Replication runs over mutual TLS, as seen by a drill on the replication connection itself
 * (pg_stat_ssl of the standby's walsender on the primary). Certificates on file are context, not
 * proof: they may not be the ones the servers use, or replication may not use TLS at all.
 */
export const replicaMutualTls: Check = (inputs, env) => {
  const runs = inputs.drills!.runs;
  const cutoff = inputs.now.getTime() - DRILL_MAX_AGE_DAYS * DAY_MS;
  return env.sites
    .filter((s) => s.dr !== undefined)
    .map((s) => {
      const seen = runs
        .filter((r) => r.site === s.id && r.replicationTls !== undefined && r.finishedAt.getTime() >= cutoff)
        .sort((a, b) => Number(b.target === 'pg') - Number(a.target === 'pg') || b.finishedAt.getTime() - a.finishedAt.getTime());
      const run = seen[0];
      const certs = inputs.pki?.certificates.filter((c) => c.profile === 'replica-mtls' && c.site === s.id && c.status === 'active').length;
      const onFile = certs === undefined ? '' : said('drills.tls.onFile', { count: certs });
      if (!run) {
        return notRun(
          said('drills.tls.notObserved', { days: DRILL_MAX_AGE_DAYS, dr: s.dr!.site, onFile, id: s.id }),
          [{ source: 'drills', provenance: 'observed', detail: `no drill of ${s.id} recorded pg_stat_ssl of its replication connection` }],
          s.id,
        );
      }
      const evidence: Evidence[] = [{ source: 'drills', provenance: drillProvenance(run), detail: `${run.id} on the ${where(run)}, ${isoDate(run.finishedAt)}: replication connection ${run.replicationTls}`, value: { run: run.id, target: run.target, replicationTls: run.replicationTls } }];
      switch (run.replicationTls) {
        case 'mutual-tls':
          return pass(said('drills.tls.mutual', { name: s.name, dr: s.dr!.site }), evidence, s.id);
        case 'tls':
          return fail(said('drills.tls.oneWay', { name: s.name, dr: s.dr!.site }), evidence, s.id);
        case 'none':
          return fail(said('drills.tls.clear', { name: s.name, dr: s.dr!.site }), evidence, s.id);
        default:
          return notRun(said('drills.tls.unreadable', { id: s.id }), evidence, s.id);
      }
    });
};
