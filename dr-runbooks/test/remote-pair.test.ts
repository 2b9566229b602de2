import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { registerReplicationMetrics } from '../operations/index.js';
import { runCli } from '../../bin/testkit.js';
import type { CatalogueMessage } from '../../lib/errors.js';
import { say } from '../../lib/i18n/index.js';
import { DEFAULT_PG_BIN, DrillHistory, DrillRefusedError, executeDrill, PgLab, reasonTexts, RemotePair, type DrillReport, type DrillRequest, type ExecuteDrillOptions, type PairConfig } from '../index.js';
import { pgConnection } from '../../lib/pg-conn.js';
import { labPairFile, request, startTestLab, type TestLab } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const haveTools = existsSync(`${DEFAULT_PG_BIN}/pg_ctl`) && existsSync('/usr/sbin/haproxy');
const skip = !isRoot || !haveTools;

/**
 * Target `pg` on real PostgreSQL: an embedded lab stands in for an existing pair. The drill knows
 * it only through the pair file: TCP connection strings, the HAProxy endpoint, and operator
 * commands (fixtures/lab-operator.ts, run as separate processes as a site's tooling would be).
 */
describe.skipIf(skip)('drills on an existing pair given by a pair file (target pg, real PostgreSQL 15)', () => {
  let t: TestLab;
  let base: string;
  let lab: PgLab;
  let history: DrillHistory;

  beforeAll(async () => {
    t = await startTestLab('jinbao-dr-pair-test-');
    ({ base, lab, history } = t);
  });

  afterAll(async () => {
    await t?.stop();
  });

  const pairFile = (over: Parameters<typeof labPairFile>[2] = {}): PairConfig => labPairFile(lab, base, over);

  async function drill(req: DrillRequest, config = pairFile(), onEvent?: ExecuteDrillOptions['onEvent']): Promise<{ report: DrillReport; pair: RemotePair }> {
    const pair = await RemotePair.open(config, { site: '440000' });
    try {
      const report = await executeDrill({ request: req, pair, history, lockName: 'pg:440000', replicationTls: 'operator-managed', ...(onEvent ? { onEvent } : {}) });
      return { report, pair };
    } finally {
      await pair.close();
    }
  }

  async function expectHealthy(primary: string): Promise<void> {
    const pair = await RemotePair.open(pairFile(), { site: '440000' });
    try {
      expect(pair.primary).toBe(primary);
      expect((await pair.replication()).streaming).toBe(true);
      expect(await pair.traffic.current()).toBe(primary);
      expect((await pair.tryWrite(pair.standby)).accepted).toBe(false);
    } finally {
      await pair.close();
    }
  }

  /** The primary as the servers say (the lab's own record is rewritten by the operator commands in other processes). */
  async function currentPrimary(): Promise<string> {
    const pair = await RemotePair.open(pairFile(), { site: '440000' });
    await pair.close();
    return pair.primary;
  }
  const peer = (n: string) => (n === 'dc' ? 'dr' : 'dc');

  const pgRequest = (over: Partial<DrillRequest> = {}) => request({ target: 'pg', ...over });

  it('GIVEN the pair file THEN roles are found from the servers, the presented certificates are checked against the CA, and the endpoint is seen reaching the primary', async () => {
    const pair = await RemotePair.open(pairFile(), { site: '440000' });
    try {
      expect(pair.primary).toBe('dc');
      const certs = await pair.certificates(Date.now());
      expect(certs.map((c) => c.file)).toEqual([`dc (127.0.0.1:${lab.state.ports.dc})`, `dr (127.0.0.1:${lab.state.ports.dr})`]);
      expect(certs.every((c) => c.problem === undefined)).toBe(true);
      expect(await pair.traffic.current()).toBe('dc');
      expect(await pair.serverKey('dc')).not.toBe(await pair.serverKey('dr'));
    } finally {
      await pair.close();
    }
    // sslmode=require to servers with a private CA: libpq encrypts (node-postgres alone would refuse
    // "unable to verify"), and the pair file's tls.ca is the trust anchor the servers are verified against.
    const ca = lab.tlsFiles('dc').caFile;
    const required = await RemotePair.open(pairFile({ query: '?sslmode=require' }), { site: '440000' });
    try {
      expect((await required.replication()).streaming).toBe(true);
      expect(required.connectionSecurity).toEqual([
        { connection: `dc (127.0.0.1:${lab.state.ports.dc})`, tls: `TLS, server verified against ${ca} (tls.ca of ${base}/pair.json), host name not checked (sslmode=require)` },
        { connection: `dr (127.0.0.1:${lab.state.ports.dr})`, tls: `TLS, server verified against ${ca} (tls.ca of ${base}/pair.json), host name not checked (sslmode=require)` },
        { connection: `endpoint (127.0.0.1:${lab.state.proxyPort})`, tls: `TLS, server verified against ${ca} (tls.ca of ${base}/pair.json), host name not checked (sslmode=require)` },
      ]);
      const notes: string[] = [];
      required.observe((n) => notes.push(n));
      expect(notes[0]).toBe(`connection to dc (127.0.0.1:${lab.state.ports.dc}): TLS, server verified against ${ca} (tls.ca of ${base}/pair.json), host name not checked (sslmode=require)`);
    } finally {
      await required.close();
    }
    const full = await RemotePair.open(pairFile({ query: '?sslmode=verify-full' }), { site: '440000' });
    await full.close();
    expect(full.connectionSecurity[0]!.tls).toMatch(/host name checked \(sslmode=verify-full\)$/);
    const config = pairFile();
    const noCa = await RemotePair.open({ ...config, tls: { ...config.tls, caFile: `${base}/missing-ca.pem` } }, { site: '440000' });
    try {
      const checks = await noCa.certificates(Date.now());
      expect(checks).toEqual([
        { file: `${base}/missing-ca.pem`, subject: '?', notAfter: '?', problem: expect.stringMatching(new RegExp(`^tls\\.ca of ${base}/pair\\.json cannot be read: ENOENT`)), localizedProblem: expect.anything() },
      ]);
      expect(say(checks[0]!.localizedProblem!, 'zh-CN')).toMatch(new RegExp(`^无法读取 ${base}/pair\\.json 中 tls\\.ca 指定的文件：ENOENT`));
    } finally {
      await noCa.close();
    }
  });

  it('GIVEN the exporter WHEN it is scraped THEN the standby streaming and its replay lag are sampled from the pair file, or from the running lab', async () => {
    const withPair = new Registry();
    registerReplicationMetrics(withPair, base, [pairFile()]);
    const text = await withPair.metrics();
    expect(text).toContain('jinbao_dr_standby_streaming{site="440000"} 1');
    expect(text).toMatch(/jinbao_dr_replication_lag_seconds\{site="440000"\} \d/);
    expect(text).toMatch(/jinbao_dr_replication_lag_bytes\{site="440000"\} \d+/);
    // The lab of the same site is not counted twice.
    expect(text.match(/jinbao_dr_standby_streaming\{/g)).toHaveLength(1);
    const labOnly = new Registry();
    registerReplicationMetrics(labOnly, base, []);
    expect(await labOnly.metrics()).toContain('jinbao_dr_standby_streaming{site="440000"} 1');
    // A pair whose nodes do not answer is reported as not streaming, without a lag.
    const down = new Registry();
    const unreachable = pgConnection('postgresql://postgres@127.0.0.1:1/postgres', { source: 'nodes.dc.connection' });
    registerReplicationMetrics(down, base, [{ ...pairFile(), site: '110000', nodes: [{ ...pairFile().nodes[0], connection: 'postgresql://postgres@127.0.0.1:1/postgres', conn: unreachable }, pairFile().nodes[1]] }]);
    const downText = await down.metrics();
    expect(downText).toContain('jinbao_dr_standby_streaming{site="110000"} 0');
    expect(downText).not.toContain('jinbao_dr_replication_lag_seconds{site="110000"}');
  });

  it('GIVEN a running probe WHEN a planned switchover runs through the operator commands THEN no acknowledged row is lost and the pair fails back healthy', async () => {
    const before = await currentPrimary();
    const { report } = await drill(pgRequest({ scenario: 'switchover', replication: 'sync' }));
    expect(report.reasons).toEqual([]);
    expect(report.result).toBe('passed');
    expect(report.measured.rpoRows).toBe(0);
    expect(report.measured.probe!.acknowledgedByOldPrimary).toBeGreaterThan(0);
    expect(report.measured.probe!.acknowledgedByNewPrimary).toBeGreaterThan(0);
    // Every operator command is in the evidence, with how it ended.
    const ran = report.events.flatMap((e) => (e.type === 'note' && e.text.startsWith('operator command') ? [e.text.split(':')[0]] : []));
    expect(ran).toEqual(['operator command drain', 'operator command fence', 'operator command stop', 'operator command route', 'operator command endOfWal', 'operator command rejoin']);
    await expectHealthy(peer(before));
  });

  it('GIVEN synchronous replication WHEN `jinbao drill run --target pg` kills the primary with the crash command THEN failover loses no acknowledged row, reads the WAL end, fails back, and switches back to the original primary', async () => {
    const before = await currentPrimary();
    const file = `${base}/pair-cli.json`;
    writeFileSync(file, readFileSync(pairFile().source));
    const state = `${base}/cli-state`;
    const status = await runCli(['--state', state, 'drill', 'pair', 'status', '--site', '440000', '--pair', file]);
    expect(status.stdout).toContain(`ready for a drill: jinbao drill plan --site 440000 --target pg --pair ${file}`);
    expect(status.stdout).toContain(`connection to endpoint (127.0.0.1:${lab.state.proxyPort}): TLS, server verified against ${lab.tlsFiles('dc').caFile} (tls.ca of ${file}), host name not checked (sslmode=prefer)`);
    expect(status.code).toBe(0);
    const run = await runCli(['--state', state, 'drill', 'run', '--site', '440000', '--target', 'pg', '--pair', file, '--scenario', 'failover', '--replication', 'sync', '--unsigned', '--switch-back', '--json']);
    expect(run.code).toBe(0);
    const { drill: report, switchBack } = JSON.parse(run.stdout) as { drill: DrillReport; switchBack: DrillReport };
    // The switch-back is a planned switchover of its own, recorded and reported.
    expect(switchBack).toMatchObject({ result: 'passed', request: { scenario: 'switchover' }, measured: { rpoRows: 0 } });
    expect(existsSync(`${state}/dr-reports/${switchBack.runId}.json`)).toBe(true);
    expect(existsSync(`${state}/dr-reports/${report.runId}.md`)).toBe(true);
    expect(readFileSync(`${state}/dr-reports/${report.runId}.md`, 'utf8')).toMatch(/## Notes\n\n(?:- .*\n)*- .*: operator command crash: /);
    expect(report.request.target).toBe('pg');
    expect(report.reasons).toEqual([]);
    expect(report.result).toBe('passed');
    expect(report.measured.rpoRows).toBe(0);
    // Read through the endOfWal command. With synchronous replication only the one commit in flight
    // when the primary died (never acknowledged) can be missing: a few hundred bytes at most.
    expect(report.measured.rpoWalBytes).toBeTypeOf('number');
    expect(report.measured.rpoWalBytes).toBeLessThan(8192);
    expect(report.measured.splitBrainFree).toBe(true);
    await expectHealthy(before);
  });

  it('GIVEN a fence command that fails WHEN the drill reaches the fence THEN the rollbacks route traffic back and the pair is unchanged', async () => {
    const before = await currentPrimary();
    let failedReason: CatalogueMessage | undefined;
    const { report } = await drill(pgRequest({ scenario: 'switchover' }), pairFile({ commands: { fence: { run: ['sh', '-c', 'echo "fence agent unreachable" >&2; exit 7'], retries: 1 } } }), (e, said) => {
      if (e.type === 'step-finished' && !e.ok) failedReason = said?.reasonMessage;
    });
    expect(report.result).toBe('failed');
    expect(report.reasons.join('\n')).toMatch(/operator command fence for d[cr] failed \(exit 7, 2 attempts\): sh -c .*: fence agent unreachable; fix commands\.fence in/);
    // under zh-CN the report says the same failure in Chinese
    expect(reasonTexts(report, 'zh-CN', failedReason).join('\n')).toMatch(/d[cr] 的操作员命令 fence 执行失败（退出码 7，共尝试 2 次）：sh -c .*：fence agent unreachable；请修改 .* 中的 commands\.fence/);
    const rollbacks = report.events.flatMap((e) => (e.type === 'rollback' ? [`${e.step}:${e.ok}`] : []));
    expect(rollbacks).toContain('fence-old-primary:true');
    await expectHealthy(before);
  });

  it('GIVEN the standby is down THEN the drill refuses before starting, naming the node and the file, and records nothing', async () => {
    const standby = peer(await currentPrimary()) as 'dc' | 'dr';
    const runs = (await history.list()).length;
    await lab.stopNode(standby);
    try {
      await expect(drill(pgRequest())).rejects.toThrow(new RegExp(`^refusing to start the drill: node ${standby} \\(127\\.0\\.0\\.1:\\d+\\) does not answer: .*ECONNREFUSED.*; check nodes\\.${standby}\\.connection in .*pair\\.json and that the server runs$`));
      expect((await history.list()).length).toBe(runs);
    } finally {
      await lab.startNode(standby);
      await lab.waitStreaming(peer(standby) as 'dc' | 'dr', standby, 20_000);
    }
  });

  it('GIVEN a standby that answers but does not stream THEN the drill refuses, names the status command, and records nothing', async () => {
    const primary = (await currentPrimary()) as 'dc' | 'dr';
    const standby = peer(primary) as 'dc' | 'dr';
    const runs = (await history.list()).length;
    // The walreceiver stops when primary_conninfo is emptied: the server keeps answering queries.
    await lab.query(standby, "ALTER SYSTEM SET primary_conninfo = ''");
    await lab.query(standby, 'SELECT pg_reload_conf()');
    try {
      await expect(drill(pgRequest())).rejects.toThrow(DrillRefusedError);
      await expect(drill(pgRequest())).rejects.toThrow(/^refusing to start the drill: the standby is not streaming \(.+\); start it or repair replication, then check with: jinbao drill pair status --site 440000 --pair FILE$/);
      expect((await history.list()).length).toBe(runs);
      const status = await runCli(['--state', `${base}/status-state`, 'drill', 'pair', 'status', '--site', '440000', '--pair', pairFile().source, '--json']);
      expect(status.code).toBe(3);
      expect(JSON.parse(status.stdout)).toMatchObject({ healthy: false, primary, standby, replication: { streaming: false }, endpoint: { routesTo: primary } });
    } finally {
      await lab.query(standby, 'ALTER SYSTEM RESET primary_conninfo');
      await lab.query(standby, 'SELECT pg_reload_conf()');
      await lab.waitStreaming(primary, standby, 20_000);
    }
  });

  it('GIVEN a pair file that does not let the drill manage replication WHEN the drill asks for another mode THEN it refuses before changing anything', async () => {
    await expect(drill(pgRequest({ replication: 'async' }), pairFile({ manage: false }))).rejects.toThrow(
      'refusing to start the drill: the pair runs sync replication and the drill asks for async; pass --replication sync, or let the drill set synchronous_standby_names with "replication: { manage: true }" in the pair file',
    );
    await expectHealthy(await currentPrimary());
  });
});
