/**
 * Drill benchmark on the embedded lab: planned switchover and unplanned failover (SIGKILL, 1 s
 * failure detection), synchronous replication, probe at 200 writes/s, 10 runs each. Reports median
 * and worst RTO and RPO; the baseline, measured in the same runs, is the mechanical floor of a
 * failover (promotion plus the endpoint switch), so the ratio shows what fencing, catch-up and
 * detection cost on top.
 *
 *   npx tsx bench/drill.ts [--runs N] [--smoke]
 *
 * --smoke: one run of each scenario (the lab is what it is: a smoke run is a real drill, only fewer).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { SqliteDatabase } from '../lib/sql/index.js';
import { DrillHistory, executeDrill, labTlsSource, LabPair, PgLab, type DrillReport, type Scenario } from '../dr-runbooks/index.js';
import { compare, report, stats, summarize, benchArgs } from './lib.js';

const { runs: RUNS, smoke } = benchArgs({ runs: 10, smokeRuns: 1 });
const RATE = 200;

const base = mkdtempSync('/tmp/jinbao-bench-drill-');
chmodSync(base, 0o711);
const lab = await PgLab.create({ dir: `${base}/dr-lab/440000`, site: '440000', replication: 'sync', tls: labTlsSource(), stateDir: base });
const db = SqliteDatabase.open(base);
const history = await DrillHistory.open(db);

interface Sample {
  readonly rtoMs: number;
  readonly rpoRows: number;
  readonly rpoWalBytes: number;
  readonly floorMs: number;
  readonly result: string;
}

const stepMs = (r: DrillReport, name: string) => r.steps.find((s) => s.name === name)?.durationMs ?? NaN;
const results: Record<Scenario, Sample[]> = { switchover: [], failover: [] };
try {
  for (const scenario of ['switchover', 'failover'] as const) {
    for (let i = 1; i <= RUNS; i++) {
      const r = await executeDrill({
        request: { site: '440000', siteName: '广东省', drSite: '440200', target: 'pg-local', scenario, replication: 'sync', probeRate: RATE, detectionMs: 1000, catchUpTimeoutMs: 15_000, warmupMs: 1000, failback: true, objectives: { rtoSeconds: 120, rpoSeconds: 0 } },
        pair: new LabPair(lab),
        history,
        lockName: 'pg-local:440000',
        replicationTls: lab.state.tlsSource,
      });
      const promoteAt = r.timeline.find((t) => t.name === 'promoted')?.sinceFailureMs ?? NaN;
      const ackAt = r.timeline.find((t) => t.name === 'first-ack-new-primary')?.sinceFailureMs ?? NaN;
      const switchMs = ackAt - (r.timeline.find((t) => t.name === 'traffic-switched')?.sinceFailureMs ?? NaN);
      const s: Sample = { rtoMs: r.measured.rtoMs ?? NaN, rpoRows: r.measured.rpoRows ?? NaN, rpoWalBytes: r.measured.rpoWalBytes ?? NaN, floorMs: stepMs(r, 'promote') + switchMs, result: r.result };
      results[scenario].push(s);
      console.log(`${scenario} #${i}: ${r.result}, RTO ${s.rtoMs.toFixed(0)} ms (promoted at ${promoteAt.toFixed(0)} ms), RPO ${s.rpoRows} rows / ${s.rpoWalBytes} WAL bytes, floor ${s.floorMs.toFixed(0)} ms`);
    }
  }
} finally {
  await lab.stop();
  await db.close();
  rmSync(base, { recursive: true, force: true });
}

const summary = Object.fromEntries(
  (['switchover', 'failover'] as const).map((sc) => {
    const xs = results[sc];
    const rto = compare({
      subject: `${sc} RTO`,
      baseline: 'the mechanical floor of the same runs (promotion plus the endpoint switch)',
      unit: 'ms',
      work: `${xs.length} ${sc}s at ${RATE} writes/s, synchronous replication`,
      subjectSamples: xs.map((x) => x.rtoMs),
      baselineSamples: xs.map((x) => x.floorMs),
    });
    const rpo = stats(xs.map((x) => x.rpoRows));
    return [sc, { rto, runs: xs.length, passed: xs.filter((x) => x.result === 'passed').length, rpoRowsMedian: rpo.median, rpoRowsWorst: rpo.max, rpoWalBytesWorst: Math.max(...xs.map((x) => x.rpoWalBytes)), targetRtoMs: sc === 'switchover' ? 2000 : 5000 }];
  }),
);
for (const [sc, s] of Object.entries(summary)) {
  console.log(report(s.rto, 0));
  console.log(`  ${sc}: worst RTO ${s.rto.subjectStats.max.toFixed(0)} ms (target ≤ ${s.targetRtoMs} ms); RPO median ${s.rpoRowsMedian} rows, worst ${s.rpoRowsWorst} rows; ${s.passed}/${s.runs} passed`);
}
const os = await import('node:os');
console.log(
  JSON.stringify({
    bench: 'drill',
    runs: RUNS,
    smoke,
    probeRate: RATE,
    replication: 'sync',
    detectionMs: 1000,
    cores: os.cpus().length,
    loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10),
    summary: Object.fromEntries(Object.entries(summary).map(([sc, s]) => [sc, { ...s, rto: summarize(s.rto) }])),
  }),
);
