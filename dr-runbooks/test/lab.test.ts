import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PG_BIN, DrillHistory, DrillRefusedError, executeDrill, LabPair, PgLab, type DrillReport, type DrillRequest } from '../index.js';
import { runCli } from '../../bin/testkit.js';
import { request, startTestLab, type TestLab } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const haveTools = existsSync(`${DEFAULT_PG_BIN}/pg_ctl`) && existsSync('/usr/sbin/haproxy');
// Real PostgreSQL and HAProxy: the servers run as the postgres user, which needs root to switch to.
const skip = !isRoot || !haveTools;

describe.skipIf(skip)('drills on the embedded lab (real PostgreSQL 15 over mTLS behind HAProxy)', () => {
  let t: TestLab;
  let lab: PgLab;
  let history: DrillHistory;
  const LOCK = 'pg-local:440000';

  beforeAll(async () => {
    t = await startTestLab('jinbao-dr-test-');
    ({ lab, history } = t);
  });

  afterAll(async () => {
    await t?.stop();
  });

  const drill = (req: DrillRequest, extra: Partial<Parameters<typeof executeDrill>[0]> = {}) =>
    executeDrill({ request: req, pair: new LabPair(lab), history, lockName: LOCK, replicationTls: lab.state.tlsSource, ...extra });

  async function expectHealthyPair(): Promise<void> {
    const pair = new LabPair(lab);
    const status = await pair.replication();
    expect(status.streaming).toBe(true);
    expect((await pair.tryWrite(lab.standby)).accepted).toBe(false);
    expect(await lab.proxy.current()).toBe(lab.primary);
    const timelines = await lab.timelines(lab.primary, lab.standby);
    expect(timelines.standby).toBe(timelines.primary);
  }

  it('GIVEN a running probe WHEN a planned switchover runs with sync replication THEN no acknowledged row is lost and the pair fails back healthy', async () => {
    const before = lab.primary;
    const r = await drill(request({ scenario: 'switchover', replication: 'sync' }));
    expect(r.reasons).toEqual([]);
    expect(r.result).toBe('passed');
    expect(r.measured.rpoRows).toBe(0);
    expect(r.measured.rpoWalBytes).toBe(0);
    expect(r.measured.probe!.acknowledgedByOldPrimary).toBeGreaterThan(0);
    expect(r.measured.probe!.acknowledgedByNewPrimary).toBeGreaterThan(0);
    expect(r.measured.rtoMs).toBeGreaterThan(0);
    expect(r.timeline.map((t) => t.name)).toEqual(['fence', 'promoted', 'traffic-switched', 'first-ack-new-primary']);
    expect(lab.primary).not.toBe(before);
    expect(r.measured.splitBrainChecks).toHaveLength(2);
    await expectHealthyPair();
    expect(await history.get(r.runId)).toMatchObject({ result: 'passed', rpoRows: 0 });
    // the lab requires a client certificate for replication (hostssl ... cert): the primary sees it
    const preflight = r.steps.find((s) => s.name === 'preflight')!;
    expect(preflight.phases.map((p) => p.detail ?? '').join('\n')).toMatch(/replication connection: mutual TLS \(TLSv1\.[23], client certificate "[^"]+"\)/);
    expect(await history.replicationTls(r.runId)).toBe('mutual-tls');
  });

  it('GIVEN switchovers back to back WHEN each starts right after the previous failback THEN every one passes and leaves the standby streaming on the new timeline', async () => {
    // Each switchover adds a timeline; pg_rewind from a just-promoted primary once read a stale
    // timeline from its control file and left a node that could not start.
    for (let i = 0; i < 3; i++) {
      const r = await drill(request({ scenario: 'switchover', replication: 'sync' }));
      expect(r.reasons).toEqual([]);
      expect(r.result).toBe('passed');
      await expectHealthyPair();
    }
  });

  it('GIVEN synchronous replication WHEN the primary is killed with SIGKILL THEN failover loses no acknowledged row and the old primary refuses writes', async () => {
    const r = await drill(request({ scenario: 'failover', replication: 'sync' }));
    expect(r.reasons).toEqual([]);
    expect(r.result).toBe('passed');
    expect(r.measured.rpoRows).toBe(0);
    expect(r.measured.splitBrainFree).toBe(true);
    expect(r.measured.splitBrainChecks![0]).toMatch(/^after promotion: connection refused/);
    expect(r.measured.splitBrainChecks![1]).toMatch(/^after failback: write refused: cannot execute .* in a read-only transaction$/);
    expect(r.timeline.map((t) => t.name)).toEqual(['failure', 'detected', 'fence', 'promoted', 'traffic-switched', 'first-ack-new-primary']);
    const detected = r.timeline.find((t) => t.name === 'detected')!;
    expect(detected.sinceFailureMs).toBeGreaterThanOrEqual(1000);
    await expectHealthyPair();
  });

  it('GIVEN asynchronous replication WHEN the primary is killed THEN the report counts exactly the acknowledged rows the new primary lacks', async () => {
    const r: DrillReport = await drill(request({ scenario: 'failover', replication: 'async', probeRate: 400 }));
    const missing = r.events.flatMap((e) => (e.type === 'measure' && e.name === 'rpo.missingSeqs' ? [String(e.value).split(',').map(Number)] : []))[0] ?? [];
    const present = await lab.query<{ n: string }>(lab.primary, 'SELECT count(*) AS n FROM jinbao_dr_probe WHERE run = $1 AND seq = ANY($2::int[])', [r.runId, missing]);
    expect(Number(present[0]!.n)).toBe(0);
    // The report lists up to 50 missing sequence numbers; the count covers them all.
    expect(missing.length).toBe(Math.min(r.measured.rpoRows!, 50));
    expect(r.measured.rpoWalBytes).toBeGreaterThanOrEqual(0);
    expect({ result: r.result, reasons: r.reasons }).toEqual({ result: r.measured.rpoRows === 0 ? 'passed' : 'failed', reasons: r.measured.rpoRows === 0 ? [] : [`${r.measured.rpoRows} acknowledged row(s) lost; the objective is no loss (RPO 0)`] });
    if (r.measured.rpoRows! > 0) expect(r.reasons).toContain(`${r.measured.rpoRows} acknowledged row(s) lost; the objective is no loss (RPO 0)`);
    await expectHealthyPair();
  });

  it('GIVEN a stopped standby THEN the drill refuses, records nothing and changes nothing', async () => {
    const primary = lab.primary;
    const runs = (await history.list()).length;
    await lab.stopNode(lab.standby);
    try {
      await expect(drill(request())).rejects.toThrow(DrillRefusedError);
      await expect(drill(request())).rejects.toThrow(/^refusing to start the drill: the standby is not streaming \(no walreceiver named jinbao_d[cr] is connected to primary d[cr]\); start it or repair replication, then check with: jinbao drill lab status --site 440000$/);
    } finally {
      await lab.startNode(lab.standby);
      await lab.waitStreaming(lab.primary, lab.standby, 20_000);
    }
    expect(lab.primary).toBe(primary);
    expect(await history.list()).toHaveLength(runs);
  });

  it('GIVEN the standby paused replay while the primary writes THEN the drill refuses for lag over the RPO budget', async () => {
    await lab.query(lab.standby, 'SELECT pg_wal_replay_pause()');
    try {
      await lab.query(lab.primary, 'CREATE TABLE IF NOT EXISTS lag_check (x int)');
      await lab.query(lab.primary, 'INSERT INTO lag_check VALUES (1)');
      await new Promise((r) => setTimeout(r, 300));
      await lab.query(lab.primary, 'INSERT INTO lag_check VALUES (2)');
      await expect(drill(request())).rejects.toThrow(/^refusing to start the drill: the standby's replay lag is \d+\.\d s, over the site's RPO budget of 0 s; wait for the standby to catch up \(is replay paused\? SELECT pg_wal_replay_resume\(\) on the standby\) and retry$/);
    } finally {
      await lab.query(lab.standby, 'SELECT pg_wal_replay_resume()');
    }
  });

  it('GIVEN replay paused WHEN drill run is asked in Chinese THEN the failed step and the refusal are Chinese, and the English run is unchanged', async () => {
    await lab.query(lab.standby, 'SELECT pg_wal_replay_pause()');
    try {
      await lab.query(lab.primary, 'CREATE TABLE IF NOT EXISTS lag_check (x int)');
      await lab.query(lab.primary, 'INSERT INTO lag_check VALUES (1)');
      await new Promise((r) => setTimeout(r, 300));
      await lab.query(lab.primary, 'INSERT INTO lag_check VALUES (2)');
      const args = ['--state', t.base, 'drill', 'run', '--site', '440000', '--target', 'pg-local', '--scenario', 'switchover'];
      const zh = await runCli(['--lang', 'zh-CN', ...args]);
      expect(zh.code).toBe(2);
      expect(zh.stdout).toMatch(/执行阶段失败：拒绝开始演练：备库的回放延迟为 \d+\.\d 秒，超过该站点 0 秒的 RPO 预算/);
      expect(zh.stderr).toMatch(/^jinbao: 拒绝开始演练：备库的回放延迟为 \d+\.\d 秒，超过该站点 0 秒的 RPO 预算；/);
      const en = await runCli(args);
      expect(en.code).toBe(2);
      expect(en.stdout).toMatch(/action failed: refusing to start the drill: the standby's replay lag is \d+\.\d s, over the site's RPO budget of 0 s;/);
      expect(en.stderr).toMatch(/^jinbao: refusing to start the drill: the standby's replay lag is \d+\.\d s, over the site's RPO budget of 0 s; wait for the standby to catch up/);
    } finally {
      await lab.query(lab.standby, 'SELECT pg_wal_replay_resume()');
    }
  });

  it('GIVEN another live drill holds the lock THEN the drill refuses and names it', async () => {
    await history.begin(LOCK, 'dr-other', request(), process.pid);
    try {
      await expect(drill(request())).rejects.toThrow(/^refusing to start the drill: drill dr-other \(pid \d+, since .*\) holds the lock on pg-local:440000; wait for it or stop it with: jinbao drill abort dr-other$/);
    } finally {
      await history.finish(LOCK, 'dr-other', { result: 'aborted', report: null });
    }
  });

  it('GIVEN a drill aborted after fencing, before promotion THEN rollbacks restore the old primary and the endpoint', async () => {
    const primary = lab.primary;
    const ac = new AbortController();
    const r = await drill(request({ scenario: 'switchover' }), {
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'step-finished' && e.step === 'fence-old-primary') ac.abort();
      },
    });
    expect(r.result).toBe('aborted');
    expect(r.steps.find((s) => s.name === 'fence-old-primary')!.rollback).toMatchObject({ ok: true, detail: expect.stringMatching(new RegExp(`^${primary} restarted as primary and routed again; standby d[cr] streaming \\(sync\\)$`)) });
    expect(lab.primary).toBe(primary);
    await expectHealthyPair();
    expect((await new LabPair(lab).tryWrite(primary)).accepted).toBe(true);
  });
});
