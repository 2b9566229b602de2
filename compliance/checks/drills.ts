import type { Check } from '../inputs.js';
import { DAY_MS, days, fail, isoDate, pass } from './verdict.js';

export const DRILL_MAX_AGE_DAYS = 90;

/** Every DR pairing had a passed drill (restore + real-time off-site replication proven) in the last 90 days. */
export const recentPassedDrill: Check = (inputs, env) => {
  const runs = inputs.drills!.runs;
  const cutoff = inputs.now.getTime() - DRILL_MAX_AGE_DAYS * DAY_MS;
  return env.sites
    .filter((s) => s.dr !== undefined)
    .map((s) => {
      const mine = runs.filter((r) => r.site === s.id).sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime());
      const lastPassed = mine.find((r) => r.passed);
      const evidence = [
        { source: 'drills', detail: `${mine.length} drill(s) for ${s.id}; last: ${mine[0] ? `${mine[0].id} ${mine[0].passed ? 'passed' : 'failed'} ${isoDate(mine[0].finishedAt)}` : 'none'}` },
        ...(lastPassed ? [{ source: 'drills', detail: `last passed: ${lastPassed.id} on ${isoDate(lastPassed.finishedAt)}${lastPassed.rtoSeconds !== undefined ? `, RTO ${lastPassed.rtoSeconds} s` : ''}${lastPassed.rpoSeconds !== undefined ? `, RPO ${lastPassed.rpoSeconds} s` : ''}${lastPassed.rpoRows !== undefined ? `, ${lastPassed.rpoRows} row(s) lost` : ''}`, value: lastPassed }] : []),
      ];
      if (!lastPassed) return fail(`${s.name}: no passed drill; run jinbao drill run --site ${s.id}`, evidence, s.id);
      const age = days(inputs.now.getTime() - lastPassed.finishedAt.getTime());
      return lastPassed.finishedAt.getTime() >= cutoff
        ? pass(`${s.name}: drill passed ${age} day(s) ago`, evidence, s.id)
        : fail(`${s.name}: last passed drill is ${age} days old, want at most ${DRILL_MAX_AGE_DAYS}`, evidence, s.id);
    });
};
