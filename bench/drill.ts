/**
 * Drill benchmark on the embedded lab: planned switchover and unplanned failover (SIGKILL, 1 s
 * failure detection), synchronous replication, probe at 200 writes/s, 10 runs each. Reports median
 * and worst RTO and RPO; the baseline, measured in the same runs, is the mechanical floor of a
 * failover (promotion plus the endpoint switch), so the ratio shows what fencing, catch-up and
 * detection cost on top.
 *
 *   npx tsx bench/drill.ts [--runs N]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { StateStore } from '../lib/state.js';
import { DrillHistory, executeDrill, labTlsSource, LabPair, PgLab, type DrillReport, type Scenario } from '../dr-runbooks/index.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const RATE = 200;

const base = mkdtempSync('/tmp/jinbao-bench-drill-');
chmodSync(base, 0o711);
const lab = await PgLab.create({ dir: `${base}/dr-lab/440000`, site: '440000', replication: 'sync', tls: labTlsSource(), stateDir: base });
const store = StateStore.open(base);
const history = new DrillHistory(store);

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
  store.close();
  rmSync(base, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const summary = Object.fromEntries(
  (['switchover', 'failover'] as const).map((sc) => {
    const xs = results[sc];
    const rto = xs.map((x) => x.rtoMs);
    const floor = median(xs.map((x) => x.floorMs));
    return [
      sc,
      {
        runs: xs.length,
        passed: xs.filter((x) => x.result === 'passed').length,
        rtoMedianMs: Math.round(median(rto)),
        rtoWorstMs: Math.round(Math.max(...rto)),
        rpoRowsMedian: median(xs.map((x) => x.rpoRows)),
        rpoRowsWorst: Math.max(...xs.map((x) => x.rpoRows)),
        rpoWalBytesWorst: Math.max(...xs.map((x) => x.rpoWalBytes)),
        baselineFloorMedianMs: Math.round(floor),
        rtoOverFloor: Math.round((median(rto) / floor) * 100) / 100,
        targetRtoMs: sc === 'switchover' ? 2000 : 5000,
      },
    ];
  }),
);
for (const [sc, s] of Object.entries(summary)) {
  console.log(`${sc}: RTO median ${s.rtoMedianMs} ms, worst ${s.rtoWorstMs} ms (target ≤ ${s.targetRtoMs} ms); RPO median ${s.rpoRowsMedian} rows, worst ${s.rpoRowsWorst} rows; ${s.rtoOverFloor}× the promote+switch floor (${s.baselineFloorMedianMs} ms); ${s.passed}/${s.runs} passed`);
}
console.log(JSON.stringify({ bench: 'drill', probeRate: RATE, replication: 'sync', detectionMs: 1000, cores: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg().map((x) => Math.round(x * 10) / 10), summary }));
