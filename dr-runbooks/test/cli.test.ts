import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import { Registry } from 'prom-client';
import { registerDrillMetrics } from '../operations/index.js';
import { LocalOpsContext } from '../../orchestration/context.js';
import { drillUpStage } from '../../orchestration/up.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { buildReportBody, DrillHistory, EventLog, sealReport } from '../index.js';
import { request } from './helpers.js';

const tmp = tempDir('jinbao-drill-cli-');
afterAll(() => tmp.cleanup());
let n = 0;
const freshState = () => join(tmp.dir, `state-${++n}`);

/** A state directory with one finished drill, as `drill run` leaves it. */
async function seeded(result: 'passed' | 'failed'): Promise<{ state: string; runId: string }> {
  const state = freshState();
  const db = SqliteDatabase.open(state);
  const history = await DrillHistory.open(db);
  const runId = `dr-test-${n}`;
  const log = new EventLog();
  log.mark('fence', 'dc fenced');
  const report = await sealReport(
    buildReportBody({ runId, request: request(), events: log.events, outcome: result === 'passed' ? { result } : { result, failedStep: 'promote', reason: 'pg_promote() timed out' }, measured: { rtoMs: 850, rpoRows: 0, rpoWalBytes: 0, splitBrainFree: true }, replicationTls: 'lab' }),
  );
  await history.begin('pg-local:440000', runId, request(), process.pid);
  await history.finish('pg-local:440000', runId, { result: report.result, rtoMs: 850, rpoRows: 0, report });
  await db.close();
  return { state, runId };
}

describe('jinbao drill', () => {
  it('GIVEN a site with a DR pairing WHEN planning THEN the steps print and nothing is created', async () => {
    const state = freshState();
    const r = await runCli(['--state', state, 'drill', 'plan', '--site', '440000', '--scenario', 'failover']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('drill plan: failover of site 440000 广东省 to its DR center at');
    expect(r.stdout).toMatch(/ 4\. inject-failure: kill the primary with SIGKILL/);
    expect(r.stdout).toContain('objectives: RTO 120 s, RPO 0 (no acknowledged write lost); probe 200 writes/s');
    const json = JSON.parse((await runCli(['--state', state, 'drill', 'plan', '--site', '440000', '--json'])).stdout);
    expect(json.steps.map((s: { name: string }) => s.name)).toEqual(['preflight', 'replication-mode', 'start-probe', 'fence-old-primary', 'catch-up', 'promote', 'switch-traffic', 'split-brain-check', 'measure-rpo', 'failback']);
  });

  it('GIVEN bad input THEN each flag is refused with what it got and what it wants, before anything runs', async () => {
    const cases: [string[], string][] = [
      [['--site', '999999'], 'jinbao: no site "999999" in built-in national inventory; list the sites with: jinbao inventory show\n'],
      [['--site', '440000', '--scenario', 'chaos'], 'jinbao: --scenario: got "chaos", want one of switchover, failover\n'],
      [['--site', '440000', '--replication', 'semi'], 'jinbao: --replication: got "semi", want one of sync, async\n'],
      [['--site', '440000', '--target', 'k8s'], 'jinbao: --target: got "k8s", want one of pg-local, pg\n'],
      [['--site', '440000', '--probe-rate', '0'], 'jinbao: --probe-rate: got "0", want a whole number from 1 to 2000\n'],
      [['--site', '440000', '--detection-ms', '1.5'], 'jinbao: --detection-ms: got "1.5", want a whole number from 1 to 60000\n'],
    ];
    for (const [args, err] of cases) {
      const r = await runCli(['--state', freshState(), 'drill', 'plan', ...args]);
      expect(r.stderr).toBe(err);
      expect(r.code).toBe(2);
    }
  });

  it('GIVEN a site without a DR pairing THEN plan says how to add one', async () => {
    const show = JSON.parse((await runCli(['inventory', 'show', '--json'])).stdout) as { sites: { id: string; name: string; dr?: unknown }[] };
    const lone = show.sites.find((s) => s.dr == null)!;
    const r = await runCli(['--state', freshState(), 'drill', 'plan', '--site', lone.id]);
    expect(r.stderr).toBe(`jinbao: site ${lone.id} (${lone.name}) has no DR pairing in built-in national inventory; add sites[].dr with the site hosting its DR center, or pick a site that has one (jinbao up lists them)\n`);
    expect(r.code).toBe(2);
  });

  const PAIR = `site: "440000"
endpoint: postgresql://probe@127.0.0.1:1/jinbao_drill
nodes:
  dc: { connection: "postgresql://postgres@127.0.0.1:1/jinbao_drill" }
  dr: { connection: "postgresql://postgres@127.0.0.1:2/jinbao_drill" }
commands:
  stop: [ssh, "{host}", sudo, systemctl, stop, postgresql@15-main]
  start: [ssh, "{host}", sudo, systemctl, start, postgresql@15-main]
  fence: [ssh, "{host}", sudo, /usr/local/sbin/pg-fence, on]
  unfence: [ssh, "{host}", sudo, /usr/local/sbin/pg-fence, off]
  route: [/usr/local/sbin/pg-endpoint, route, "{node}"]
  drain: [/usr/local/sbin/pg-endpoint, drain]
`;

  it('GIVEN the pg target without a pair file THEN run and plan say what the file holds and where the example is', async () => {
    for (const cmd of ['run', 'plan']) {
      const r = await runCli(['--state', freshState(), 'drill', cmd, '--site', '440000', '--target', 'pg']);
      expect(r.stderr).toBe(
        'jinbao: --target pg needs --pair FILE: the pair file with the two connection strings, the endpoint and the operator commands (example in docs/dr.md); or drill the embedded lab with --target pg-local\n',
      );
      expect(r.code).toBe(2);
    }
  });

  it('GIVEN a pair file THEN plan lists every operator command with the step that runs it, and touches nothing', async () => {
    const file = join(tmp.dir, 'pair-plan.yaml');
    writeFileSync(file, PAIR);
    const r = await runCli(['--state', freshState(), 'drill', 'plan', '--site', '440000', '--target', 'pg', '--pair', file, '--no-failback']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`operator commands from ${file}`);
    expect(r.stdout).toContain('  route     /usr/local/sbin/pg-endpoint route {node}\n            switch-traffic: send the endpoint to {node} only\n');
    expect(r.stdout).toContain('  crash     (not set)\n');
    expect(r.stdout).toContain(`run it with: jinbao drill run --site 440000 --target pg --pair ${file} --scenario switchover`);
    const js = JSON.parse((await runCli(['--state', freshState(), 'drill', 'plan', '--site', '440000', '--target', 'pg', '--pair', file, '--no-failback', '--json'])).stdout);
    expect(js.pair.nodes).toEqual([{ name: 'dc', host: '127.0.0.1', port: 1 }, { name: 'dr', host: '127.0.0.1', port: 2 }]);
  });

  it('GIVEN a pair file that lacks what the drill needs THEN run lists every gap before connecting to anything', async () => {
    const file = join(tmp.dir, 'pair-gaps.yaml');
    writeFileSync(file, PAIR);
    const r = await runCli(['--state', freshState(), 'drill', 'run', '--site', '440000', '--target', 'pg', '--pair', file, '--scenario', 'failover']);
    expect(r.stderr).toBe(
      [
        `jinbao: pair file ${file} cannot run this drill: 2 problems`,
        `  - commands.crash is required for --scenario failover (failover: inject-failure (kill the primary as a dead machine would))`,
        `  - commands.rejoin is required for failback (or pass --no-failback to leave the old primary fenced) (failback: rewind {node} into a streaming standby of {peer} and start it)`,
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(2);
    const zh = await runCli(['--state', freshState(), '--lang', 'zh-CN', 'drill', 'run', '--site', '440000', '--target', 'pg', '--pair', file, '--scenario', 'failover']);
    expect(zh.code).toBe(2);
    expect(zh.stderr.split('\n')[0]).toBe(`jinbao: 灾备配对文件 ${file} 无法用于本次演练：2 个问题`);
  });

  it('GIVEN a pair file whose servers do not answer THEN run refuses with exit 2 and records no drill', async () => {
    const file = join(tmp.dir, 'pair-down.yaml');
    writeFileSync(file, PAIR);
    const state = freshState();
    const r = await runCli(['--state', state, 'drill', 'run', '--site', '440000', '--target', 'pg', '--pair', file, '--no-failback', '--unsigned']);
    expect(r.stderr).toMatch(/^jinbao: refusing to start the drill: node dc \(127\.0\.0\.1:1\) does not answer: .*; check nodes\.dc\.connection in .*pair-down\.yaml and that the server runs\n$/);
    expect(r.code).toBe(2);
    const zh = await runCli(['--state', state, '--lang', 'zh-CN', 'drill', 'run', '--site', '440000', '--target', 'pg', '--pair', file, '--no-failback', '--unsigned']);
    expect(zh.stderr).toMatch(/^jinbao: 拒绝开始演练：节点 dc（127\.0\.0\.1:1）没有应答：.*；请检查 .*pair-down\.yaml 中的 nodes\.dc\.connection，并确认服务器在运行\n$/);
    expect(zh.code).toBe(2);
    expect(JSON.parse((await runCli(['--state', state, 'drill', 'list', '--json'])).stdout).runs).toEqual([]);
    const status = await runCli(['--state', state, 'drill', 'pair', 'status', '--site', '440000', '--pair', file]);
    expect(status.code).toBe(2);
  });

  it('GIVEN pair files for the exporter THEN each must name its site, once', async () => {
    const a = join(tmp.dir, 'pair-nosite.yaml');
    writeFileSync(a, PAIR.replace('site: "440000"\n', ''));
    const b = join(tmp.dir, 'pair-b.yaml');
    const c = join(tmp.dir, 'pair-c.yaml');
    writeFileSync(b, PAIR);
    writeFileSync(c, PAIR);
    const r = await runCli(['--state', freshState(), 'exporter', '--port', '0', '--dr-pair', a, '--dr-pair', b, '--dr-pair', c]);
    expect(r.stderr).toBe(
      [
        'jinbao: --dr-pair: 2 problems',
        `  - ${a}: site: is required for the exporter (it labels the metrics); add site: "ID"`,
        `  - ${c}: site: 440000 is also the site of ${b}; give each site one pair file`,
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(2);
  });

  it('GIVEN --switch-back without failback THEN run refuses, saying why', async () => {
    const r = await runCli(['--state', freshState(), 'drill', 'run', '--site', '440000', '--switch-back', '--no-failback']);
    expect(r.stderr).toBe('jinbao: --switch-back needs the failback: drop --no-failback (the old primary must be a standby again before it can lead)\n');
    expect(r.code).toBe(2);
  });

  it('GIVEN a flag for the other target THEN it is refused, saying which target it belongs to', async () => {
    const r = await runCli(['--state', freshState(), 'drill', 'run', '--site', '440000', '--unsigned']);
    expect(r.stderr).toBe('jinbao: --unsigned is for --target pg; on the embedded lab, --lab-tls drills with lab-only certificates and an unsigned report\n');
    expect(r.code).toBe(2);
  });

  it('GIVEN a recorded drill THEN list, report and the KPI show it', async () => {
    const { state, runId } = await seeded('passed');
    const list = await runCli(['--state', state, 'drill', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${runId}\\s+440000\\s+switchover\\s+sync\\s+passed\\s+0\\.85 s\\s+0`));
    expect(JSON.parse((await runCli(['--state', state, 'drill', 'list', '--json'])).stdout).runs[0]).toMatchObject({ id: runId, result: 'passed', rtoMs: 850 });
    const md = await runCli(['--state', state, 'drill', 'report', runId]);
    expect(md.stdout).toContain(`# DR drill ${runId}: PASSED`);
    expect(md.stdout).toContain('| RTO (failure or fence → first acknowledged write on the new primary) | 120 s | 850 ms | met |');
    const js = JSON.parse((await runCli(['--state', state, 'drill', 'report', runId, '--format', 'json'])).stdout);
    expect(js.evidence.signed).toBe(false);
    const kpi = JSON.parse((await runCli(['--state', state, 'kpi', '--json'])).stdout);
    const dr = kpi.indicators.find((i: { id: string }) => i.id === 'dr-centers');
    // a drill on the embedded lab proves the runbook, not a DR center
    expect(dr).toMatchObject({ status: 'needs', source: 'drills' });
    const bad = await runCli(['--state', state, 'drill', 'report', runId, '--format', 'pdf']);
    expect(bad.stderr).toBe('jinbao: --format: got "pdf", want one of md, json\n');
  });

  it('GIVEN no drill against a real pair ever ran THEN the indicator says it needs one, not 0%', async () => {
    const kpi = JSON.parse((await runCli(['--state', freshState(), 'kpi', '--json'])).stdout);
    const dr = kpi.indicators.find((i: { id: string }) => i.id === 'dr-centers');
    expect(dr).toMatchObject({ status: 'needs', needs: expect.stringMatching(/^DR drills against real pairs: .*--target pg/) });
    expect(dr.actual).toBeUndefined();
  });

  it('GIVEN report files THEN verify-report exits 3 for unsigned or altered reports and says why', async () => {
    const { state, runId } = await seeded('failed');
    const report = JSON.parse((await runCli(['--state', state, 'drill', 'report', runId, '--format', 'json'])).stdout);
    const file = join(tmp.dir, `${runId}.json`);
    writeFileSync(file, JSON.stringify(report));
    const v = await runCli(['--state', state, 'drill', 'verify-report', file]);
    expect(v.code).toBe(3);
    expect(v.stdout).toBe(`${file}: NOT VERIFIED; digest matches; unsigned\n  - the report is unsigned (no PKI evidence signer was available when it was written)\n`);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"rtoMs":850', '"rtoMs":85'));
    const altered = await runCli(['--state', state, 'drill', 'verify-report', file, '--json']);
    expect(JSON.parse(altered.stdout)).toMatchObject({ ok: false, digestOk: false });
    const missing = await runCli(['--state', state, 'drill', 'verify-report', join(tmp.dir, 'nope.json')]);
    expect(missing.stderr).toMatch(/^jinbao: cannot read the report .*nope\.json: no such file\n$/);
    expect(missing.code).toBe(2);
  });

  it('GIVEN unknown runs THEN abort and report name the run and how to list runs', async () => {
    const state = freshState();
    expect((await runCli(['--state', state, 'drill', 'abort', 'dr-nope'])).stderr).toBe('jinbao: no drill run "dr-nope" in the state store; list runs with: jinbao drill list\n');
    expect((await runCli(['--state', state, 'drill', 'report', 'dr-nope'])).stderr).toBe('jinbao: no drill run "dr-nope" in the state store; list runs with: jinbao drill list\n');
    expect((await runCli(['--state', state, 'drill', 'lab', 'status', '--site', '440000'])).stderr).toBe(`jinbao: no DR lab in ${join(state, 'dr-lab', '440000')}; create one with: jinbao drill lab up --site ID\n`);
  });

  it('GIVEN a recorded drill THEN the `up` stage lists the DR pairings and the drill status without starting anything', async () => {
    const { state, runId } = await seeded('passed');
    const ctx = new LocalOpsContext({ stateDir: state, env: {} });
    try {
      const r = await drillUpStage.run(ctx, { fabric: ctx.fabric(), outDir: join(tmp.dir, 'up-out'), note: () => undefined });
      expect(r.lines[0]).toMatch(/^dr: \d+ DR pairings \(1 ministry, \d+ provinces, \d+ prefectures\); drills: 1 passed within 90 days, 0 failing, \d+ never drilled$/);
      expect(r.lines[1]).toMatch(new RegExp(`^  440000 广东省 → \\d{6}: passed within 90 days \\(${runId}\\)$`));
      expect(r.lines).toHaveLength(2);
    } finally {
      await ctx.close();
    }
  });

  it('GIVEN a recorded drill THEN the metrics give the last RTO, RPO, result and age per site', async () => {
    const { state } = await seeded('passed');
    const ctx = new LocalOpsContext({ stateDir: state, env: {} });
    try {
      const registry = new Registry();
      registerDrillMetrics(registry, ctx);
      const text = await registry.metrics();
      expect(text).toContain('jinbao_dr_last_rto_seconds{site="440000",scenario="switchover"} 0.85');
      expect(text).toContain('jinbao_dr_last_rpo_rows{site="440000",scenario="switchover"} 0');
      expect(text).toContain('jinbao_dr_last_passed{site="440000",result="passed"} 1');
      expect(text).toMatch(/jinbao_dr_last_drill_age_seconds\{site="440000"\} \d/);
    } finally {
      await ctx.close();
    }
  });
});
