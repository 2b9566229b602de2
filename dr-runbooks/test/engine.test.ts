import { describe, expect, it } from 'vitest';
import { catalogueMessage, errorText, say, type MessageParams } from '../../lib/i18n/index.js';
import { buildReportBody, canonicalJson, DrillAbortedError, DrillRefusedError, evaluate, EventLog, failedDetailText, pause, reasonMessageOf, reasonTexts, runSteps, sealReport, StepFailure, verifyProblemTexts, verifyReport, renderMarkdown, waitFor, type EventSaying, type Step, type EvidenceSigner, type EvidenceVerifier } from '../index.js';
import { DR_MESSAGES } from '../messages.js';
import type { DrillEvent } from '../model.js';
import { request } from './helpers.js';

type Trace = string[];
const step = (name: string, trace: Trace, over: Partial<Step<Trace>> = {}): Step<Trace> => ({
  name,
  description: name,
  action: async (t) => void t.push(`${name}:action`),
  rollback: async (t) => void t.push(`${name}:rollback`),
  ...over,
});

describe('the step engine', () => {
  it('GIVEN steps that all pass THEN each runs precondition, action, verification in order and nothing rolls back', async () => {
    const t: Trace = [];
    const log = new EventLog();
    const out = await runSteps([step('a', t, { precondition: async (x) => void x.push('a:pre'), verification: async (x) => void x.push('a:verify') }), step('b', t)], t, log, new AbortController().signal);
    expect(out.result).toBe('passed');
    expect(t).toEqual(['a:pre', 'a:action', 'a:verify', 'b:action']);
    expect(log.events.filter((e) => e.type === 'step-finished').every((e) => e.type === 'step-finished' && e.ok)).toBe(true);
  });

  it('GIVEN a failed verification WHEN the drill stops THEN the failed step and every earlier step roll back in reverse order', async () => {
    const t: Trace = [];
    const out = await runSteps(
      [step('a', t), step('b', t, { verification: async () => Promise.reject(new Error('replica not streaming')) }), step('c', t)],
      t,
      new EventLog(),
      new AbortController().signal,
    );
    expect(out).toMatchObject({ result: 'failed', failedStep: 'b', reason: 'replica not streaming' });
    expect(t).toEqual(['a:action', 'b:action', 'b:rollback', 'a:rollback']);
  });

  it('GIVEN a failed precondition THEN that step never acted and is not rolled back', async () => {
    const t: Trace = [];
    const out = await runSteps([step('a', t), step('b', t, { precondition: async () => Promise.reject(new Error('no')) })], t, new EventLog(), new AbortController().signal);
    expect(out.failedStep).toBe('b');
    expect(t).toEqual(['a:action', 'a:rollback']);
  });

  it('GIVEN an abort during a step THEN the result is aborted and rollbacks run', async () => {
    const t: Trace = [];
    const ac = new AbortController();
    const out = await runSteps(
      [
        step('a', t, {
          action: async (x) => {
            x.push('a:action');
            ac.abort(new DrillAbortedError('interrupted (Ctrl-C)'));
          },
        }),
        step('b', t),
      ],
      t,
      new EventLog(),
      ac.signal,
    );
    expect(out).toMatchObject({ result: 'aborted', reason: 'interrupted (Ctrl-C)' });
    expect(t).toEqual(['a:action', 'a:rollback']);
  });

  it('GIVEN a rollback that fails THEN it is recorded and the other rollbacks still run', async () => {
    const t: Trace = [];
    const log = new EventLog();
    await runSteps([step('a', t), step('b', t, { rollback: async () => Promise.reject(new Error('pg_ctl start failed')) }), step('c', t, { action: async () => Promise.reject(new Error('boom')) })], t, log, new AbortController().signal);
    expect(t).toEqual(['a:action', 'b:action', 'c:rollback', 'a:rollback']);
    expect(log.events.filter((e) => e.type === 'rollback').map((e) => e.type === 'rollback' && [e.step, e.ok, e.detail])).toEqual([
      ['c', true, undefined],
      ['b', false, 'pg_ctl start failed'],
      ['a', true, undefined],
    ]);
  });
});

describe('verdicts against the objectives', () => {
  const passed = { result: 'passed' as const };
  it('GIVEN an RPO-0 site that lost acknowledged rows THEN the drill fails and says how many', () => {
    const v = evaluate(request(), passed, { rtoMs: 900, rpoRows: 3, rpoDataSeconds: 0.02, splitBrainFree: true });
    expect(v.result).toBe('failed');
    expect(v.reasons).toEqual(['3 acknowledged row(s) lost; the objective is no loss (RPO 0)']);
    expect(v.verdicts).toEqual({ rto: 'met', rpo: 'not-met', splitBrain: 'met' });
  });

  it('GIVEN a site with an RPO of 5 s that lost 0.2 s of writes THEN the RPO is met', () => {
    const v = evaluate(request({ objectives: { rtoSeconds: 300, rpoSeconds: 5 } }), passed, { rtoMs: 900, rpoRows: 40, rpoDataSeconds: 0.2, splitBrainFree: true });
    expect(v).toMatchObject({ result: 'passed', verdicts: { rpo: 'met' } });
  });

  it('GIVEN an RTO over the objective THEN the reason gives both numbers', () => {
    const v = evaluate(request({ objectives: { rtoSeconds: 1, rpoSeconds: 0 } }), passed, { rtoMs: 2500, rpoRows: 0, splitBrainFree: true });
    expect(v.reasons).toEqual(['RTO 2.50 s exceeds the objective of 1 s']);
  });

  it('GIVEN the old primary accepted a write THEN the drill fails for split brain', () => {
    const v = evaluate(request(), passed, { rtoMs: 100, rpoRows: 0, splitBrainFree: false });
    expect(v.reasons).toContain('the old primary accepted a write after promotion (split brain)');
  });
});

describe('sealed reports', () => {
  const body = () => {
    const log = new EventLog(() => 1_790_000_000_000);
    log.emit({ type: 'step-started', step: 'promote' });
    log.mark('fence', 'dc fenced');
    log.emit({ type: 'step-finished', step: 'promote', ok: true });
    return buildReportBody({ runId: 'dr-x', request: request(), events: log.events, outcome: { result: 'passed' }, measured: { rtoMs: 812.4567, rpoRows: 0, rpoWalBytes: 0, splitBrainFree: true }, replicationTls: 'lab' });
  };

  it('GIVEN no signer THEN the report says it is unsigned and verification reports exactly that', async () => {
    const r = await sealReport(body());
    expect(r.evidence.signed).toBe(false);
    const v = await verifyReport(JSON.stringify(r));
    expect(v).toMatchObject({ ok: false, digestOk: true, signed: false });
    expect(v.problems).toEqual(['the report is unsigned (no PKI evidence signer was available when it was written)']);
    expect(renderMarkdown(r)).toContain('unsigned: no evidence signer from the jinbao PKI was available');
  });

  it('GIVEN a report changed after sealing THEN the digest no longer matches', async () => {
    const r = await sealReport(body());
    const forged = { ...r, measured: { ...r.measured, rtoMs: 10 } };
    const v = await verifyReport(JSON.stringify(forged));
    expect(v.problems).toContain('digest mismatch: the report was changed after it was sealed');
  });

  it('GIVEN a signer and its verifier THEN a signed report verifies and a wrong signature does not', async () => {
    const signer: EvidenceSigner = { signer: 'CN=DR coordinator 440000', sign: async (d) => ({ scheme: 'test', value: Buffer.from(d).length }) };
    const verifier: EvidenceVerifier = { verify: async (d, s) => (s.value === Buffer.from(d).length ? { ok: true, signer: 'CN=DR coordinator 440000' } : { ok: false, problem: 'bad signature' }) };
    const r = await sealReport(body(), signer);
    expect(await verifyReport(JSON.stringify(r), verifier)).toMatchObject({ ok: true, signed: true, signer: 'CN=DR coordinator 440000' });
    const bad = { ...r, evidence: { ...r.evidence, signature: { scheme: 'test', value: 1 } } };
    expect((await verifyReport(JSON.stringify(bad), verifier)).problems).toEqual(['bad signature']);
    expect((await verifyReport(JSON.stringify(r))).problems).toEqual(['the report is signed but no verifier is available: the jinbao PKI is needed to check the signature']);
  });

  it('GIVEN a file that is not a report THEN verification says what it wants', async () => {
    await expect(verifyReport('not json')).rejects.toThrow(/^not a drill report: the file is not JSON \(.*\); pass the \.json report written by jinbao drill run or jinbao drill report --format json$/);
    await expect(verifyReport('{"format":"x"}')).rejects.toThrow('not a drill report: format is "x", want "jinbao-drill-report/v1" with an evidence section');
  });

  it('GIVEN events THEN steps and the timeline come from them, times relative to the fence', () => {
    const b = body();
    expect(b.steps).toEqual([{ name: 'promote', startedAt: '2026-09-21T14:13:20.000Z', finishedAt: '2026-09-21T14:13:20.000Z', durationMs: 0, ok: true, phases: [] }]);
    expect(b.timeline).toEqual([{ name: 'fence', at: '2026-09-21T14:13:20.000Z', sinceFailureMs: 0, detail: 'dc fenced' }]);
    expect(b.measured.rtoMs).toBe(812.457);
  });
});

describe('the report in Chinese (the JSON evidence unchanged)', () => {
  /** A failed drill: the promote step's action failed and its rollback too; RPO and split brain missed. */
  const failedBody = () => {
    const log = new EventLog(() => 1_790_000_000_000);
    log.emit({ type: 'step-started', step: 'promote' });
    log.mark('fence', 'dc fenced');
    log.emit({ type: 'step-phase', step: 'promote', phase: 'action', ok: false, detail: 'pg_ctl promote timed out' });
    log.emit({ type: 'step-finished', step: 'promote', ok: false, detail: 'action failed: pg_ctl promote timed out' });
    log.emit({ type: 'rollback', step: 'promote', ok: false, detail: 'pg_ctl start failed' });
    return buildReportBody({
      runId: 'dr-y',
      request: request({ objectives: { rtoSeconds: 1, rpoSeconds: 0 } }),
      events: log.events,
      outcome: { result: 'failed', failedStep: 'promote', reason: 'pg_ctl promote timed out' },
      measured: { rtoMs: 2500, rpoRows: 3, rpoDataSeconds: 0.02, splitBrainFree: false },
      replicationTls: 'lab',
    });
  };

  it('GIVEN a failed drill THEN its reasons are said in Chinese from the structured fields, and stay English in the report', () => {
    const body = failedBody();
    expect(body.reasons).toEqual(['step promote: pg_ctl promote timed out', 'RTO 2.50 s exceeds the objective of 1 s', '3 acknowledged row(s) lost; the objective is no loss (RPO 0)', 'the old primary accepted a write after promotion (split brain)']);
    expect(reasonTexts(body, 'zh-CN')).toEqual(['步骤 promote：pg_ctl promote timed out', 'RTO 为 2.50 秒，超过目标 1 秒', '丢失了 3 行已确认的写入；目标是不丢失（RPO 0）', '新主库提升后旧主库仍接受了写入（脑裂）']);
    expect(reasonTexts(body, 'en')).toEqual(body.reasons);
  });

  it('GIVEN a failed step THEN its phase is said in Chinese and its recorded reason kept', () => {
    expect(failedDetailText('action failed: pg_ctl promote timed out', 'zh-CN')).toBe('执行阶段失败：pg_ctl promote timed out');
    expect(failedDetailText('verification failed: x', 'zh-CN')).toBe('验证阶段失败：x');
    expect(failedDetailText('action failed: x', 'en')).toBe('action failed: x');
    expect(failedDetailText('something else', 'zh-CN')).toBe('something else');
  });

  it('GIVEN the sealed report THEN the Markdown in Chinese has Chinese headings, verdicts, reasons and evidence note; the English one is unchanged', async () => {
    const r = await sealReport(failedBody());
    const zh = renderMarkdown(r, 'zh-CN');
    expect(zh).toMatch(/^# 灾备演练 dr-y：未通过\n/);
    expect(zh).toContain('\n- 目标：pg-local，场景：计划内切换，复制方式：同步，探测写入：200 次/秒\n');
    expect(zh).toContain('\n| 恢复时间目标（RTO）（故障或隔离 → 新主库上第一次已确认的写入） | 1 秒 | 2500 毫秒 | 未达到 |\n');
    expect(zh).toContain('\n## 未通过的原因\n\n- 步骤 promote：pg_ctl promote timed out\n- RTO 为 2.50 秒，超过目标 1 秒\n');
    expect(zh).toContain('| 失败 | 执行阶段失败：pg_ctl promote timed out / 回退失败：pg_ctl start failed |');
    expect(zh).toContain('\n- 未签名：没有来自 jinbao PKI 的证据签名者；摘要只能证明完整性，不能证明报告由谁生成\n');
    const en = renderMarkdown(r);
    expect(en).toMatch(/^# DR drill dr-y: FAILED\n/);
    expect(en).toContain('| FAILED | action failed: pg_ctl promote timed out / rollback FAILED: pg_ctl start failed |');
    expect(en).toContain('\n## Why it failed\n\n- step promote: pg_ctl promote timed out\n');
    expect(JSON.stringify({ reasons: r.reasons, steps: r.steps, evidence: r.evidence })).not.toMatch(/[\u4e00-\u9fff]/);
  });

  it('GIVEN verification problems THEN jinbao\'s own are Chinese and a verifier\'s own text is kept', async () => {
    const v = await verifyReport(JSON.stringify({ ...(await sealReport(failedBody())), runId: 'forged' }));
    expect(verifyProblemTexts(v.problems, 'zh-CN')).toEqual(['摘要不一致：报告在封存后被修改过', '报告未签名（生成时没有可用的 PKI 证据签名者）']);
    expect(verifyProblemTexts(['certificate expired'], 'zh-CN')).toEqual(['certificate expired']);
  });
});

describe("a failed step's reason on screen in Chinese (the recorded reason unchanged)", () => {
  /** A drill whose catch-up step times out, with the events' clock fixed so two runs can be compared byte for byte. */
  const catchUpTimesOut = async (fail: () => Promise<never>) => {
    const log = new EventLog(() => 1_790_000_000_000);
    const said: { e: DrillEvent; said?: EventSaying }[] = [];
    log.onEvent((e, s) => said.push({ e, ...(s ? { said: s } : {}) }));
    const outcome = await runSteps([{ name: 'catch-up', description: '', action: fail }], undefined, log, new AbortController().signal);
    const body = buildReportBody({ runId: 'dr-z', request: request(), events: log.events, outcome, measured: {}, replicationTls: 'lab' });
    return { said, outcome, body };
  };

  it('GIVEN a step waiting too long THEN the timeout keeps its English text exactly and can be said in Chinese', async () => {
    const err = await waitFor(catalogueMessage(DR_MESSAGES, 'step.waitingFor.replay', { node: 'dr' }).localized, async () => undefined, { timeoutMs: 30, intervalMs: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepFailure);
    expect((err as Error).message).toBe('timed out after 30 ms waiting for dr to replay what it received');
    expect(say(reasonMessageOf(err)!, 'zh-CN')).toBe('30 毫秒内未等到：dr 回放完已收到的 WAL');
    const withLast = await waitFor('the standby to stream', async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5433')), { timeoutMs: 30, intervalMs: 10 }).then(() => new Error('resolved'), (e: unknown) => e as Error);
    expect(withLast.message).toBe('timed out after 30 ms waiting for the standby to stream (last error: connect ECONNREFUSED 127.0.0.1:5433)');
  });

  it('GIVEN a step failing with a catalogue reason THEN the screen gets it in Chinese, and the events, reasons and digest are those of the same English text', async () => {
    const failure = new StepFailure('step.stillInRecovery', { node: 'dr' });
    expect(failure.message).toBe('dr is still in recovery after promotion');
    const translated = await catchUpTimesOut(() => Promise.reject(failure));
    const plain = await catchUpTimesOut(() => Promise.reject(new Error('dr is still in recovery after promotion')));
    // what is recorded (and signed) does not change
    expect(canonicalJson(translated.body)).toBe(canonicalJson(plain.body));
    expect(JSON.stringify(translated.body)).not.toContain('reasonMessage');
    // the screen: the failed step's line and the summary in Chinese
    const finished = translated.said.find((x) => x.e.type === 'step-finished')!;
    const detail = (finished.e as Extract<DrillEvent, { type: 'step-finished' }>).detail!;
    expect(failedDetailText(detail, 'zh-CN', finished.said?.reasonMessage)).toBe('执行阶段失败：提升后 dr 仍处于恢复状态');
    expect(failedDetailText(detail, 'en', finished.said?.reasonMessage)).toBe('action failed: dr is still in recovery after promotion');
    expect(reasonTexts(translated.body, 'zh-CN', finished.said?.reasonMessage)).toEqual(['步骤 catch-up：提升后 dr 仍处于恢复状态']);
    expect(reasonTexts(translated.body, 'en', finished.said?.reasonMessage)).toEqual(['step catch-up: dr is still in recovery after promotion']);
    // the Markdown report the run writes: Chinese from the run's reason; English the same with or without it
    const sealed = await sealReport(translated.body);
    const md = renderMarkdown(sealed, 'zh-CN', finished.said?.reasonMessage);
    expect(md).toContain('- 步骤 catch-up：提升后 dr 仍处于恢复状态');
    expect(md).toContain('| 执行阶段失败：提升后 dr 仍处于恢复状态 |');
    expect(renderMarkdown(sealed, 'en', finished.said?.reasonMessage)).toBe(renderMarkdown(sealed, 'en'));
    // a reason without a catalogue message is shown as recorded
    expect(plain.said.find((x) => x.e.type === 'step-finished')!.said).toBeUndefined();
    expect(reasonTexts(plain.body, 'zh-CN')).toEqual(['步骤 catch-up：dr is still in recovery after promotion']);
  });

  it('GIVEN a refused drill THEN the refusal keeps its English text and is said in Chinese', () => {
    const lag = DrillRefusedError.of('lag', { seconds: '7.5', budget: 5 });
    expect(lag.message).toBe("refusing to start the drill: the standby's replay lag is 7.5 s, over the site's RPO budget of 5 s; wait for the standby to catch up (is replay paused? SELECT pg_wal_replay_resume() on the standby) and retry");
    expect(errorText(lag, 'zh-CN')).toBe('拒绝开始演练：备库的回放延迟为 7.5 秒，超过该站点 5 秒的 RPO 预算；请等待备库追上（回放是否已暂停？在备库上执行 SELECT pg_wal_replay_resume()）后重试');
  });

  it('GIVEN a drill aborted with drill abort THEN the failed step carries the reason in Chinese and records it in English', async () => {
    const controller = new AbortController();
    const log = new EventLog();
    const said: (EventSaying | undefined)[] = [];
    log.onEvent((e, s) => e.type === 'step-finished' && said.push(s));
    const out = await runSteps([{ name: 'promote', description: '', action: async () => {
      setTimeout(() => controller.abort(DrillAbortedError.of('abortedWith', { run: 'dr-1' })), 5);
      await pause(1_000, controller.signal);
    } }], undefined, log, controller.signal);
    expect(out).toMatchObject({ result: 'aborted', reason: 'aborted with: jinbao drill abort dr-1' });
    expect(say(said[0]!.reasonMessage!, 'zh-CN')).toBe('已由 jinbao drill abort dr-1 中止');
    expect(DrillAbortedError.of('interruptedCtrlC').message).toBe('interrupted (Ctrl-C)');
  });

  it('GIVEN the English of every converted reason THEN it reads as before', () => {
    const en = (key: string, params: MessageParams) => new StepFailure(key, params).message;
    expect(en('step.syncState', { seen: 'undefined', want: 'sync' })).toBe('the standby reports sync_state "undefined", want "sync"');
    expect(en('step.probeNoAck', { node: 'dc', ms: 800, error: catalogueMessage(DR_MESSAGES, 'step.noError').localized })).toBe('the probe got no acknowledged write from dc in 800 ms (last error: none)');
    expect(en('step.routesElsewhere', { routed: catalogueMessage(DR_MESSAGES, 'step.routedNowhere').localized, node: 'dr' })).toBe('the endpoint routes to nothing, want dr');
    expect(en('step.splitBrainAfterPromotion', { node: 'dc', primary: 'dr' })).toBe('SPLIT BRAIN: dc accepted a write after dr was promoted');
    expect(en('step.haproxyUnreachable', { socket: '/s/admin.sock', why: 'connect ECONNREFUSED /s/admin.sock' })).toBe('HAProxy runtime API at /s/admin.sock: connect ECONNREFUSED /s/admin.sock; is the lab endpoint running (jinbao drill lab status)?');
    expect(en('step.seeLog', { reason: new StepFailure('step.timedOut', { ms: 30000, what: catalogueMessage(DR_MESSAGES, 'step.waitingFor.leaveRecovery', { node: 'dr' }).localized }).reasonMessage, log: '/l/dr.log' })).toBe(
      'timed out after 30000 ms waiting for dr to leave recovery after pg_promote(); see /l/dr.log',
    );
    expect(DrillRefusedError.of('twoPrimaries', { first: 'dc', second: 'dr' }).message).toBe('refusing to start the drill: both dc and dr are out of recovery and accept writes (a split brain, or two unrelated servers); repair the pair first');
    expect(DrillRefusedError.of('noPrimary', { first: 'dc', second: 'dr' }).message).toBe('refusing to start the drill: neither dc nor dr is a primary (both in recovery); promote one or repair the pair first');
    expect(en('step.timedOut', { ms: 60000, what: catalogueMessage(DR_MESSAGES, 'step.waitingFor.answerAfter', { node: 'dc', command: 'rejoin' }).localized })).toBe('timed out after 60000 ms waiting for dc to answer after the rejoin command');
    expect(en('step.checkpointBeforeRejoin', { primary: 'dr', node: 'dc', why: 'boom' })).toBe('CHECKPOINT on dr before rejoining dc failed: boom; is dr running?');
    expect(DrillRefusedError.of('noAnswer', { what: catalogueMessage(DR_MESSAGES, 'refuse.node', { node: 'dc', host: 'db1', port: 5432 }).localized, why: 'ECONNREFUSED', field: 'nodes.dc.connection', source: 'pair.yaml' }).message).toBe(
      'refusing to start the drill: node dc (db1:5432) does not answer: ECONNREFUSED; check nodes.dc.connection in pair.yaml and that the server runs',
    );
    expect(en('step.replicationNotManaged', { source: '/etc/jinbao/pair.yaml' })).toBe('the pair file /etc/jinbao/pair.yaml does not let the drill change synchronous_standby_names (replication.manage is not true)');
    expect(en('step.walsenderAmbiguous', { count: 2, node: 'dr', source: 'pair.yaml' })).toBe('cannot tell which walsender is the standby (2 connected); set nodes.dr.applicationName in pair.yaml');
    expect(say(new StepFailure('step.walsenderAmbiguous', { count: 2, node: 'dr', source: 'pair.yaml' }).reasonMessage, 'zh-CN')).toBe('无法判断哪个 walsender 是备库（已连接 2 个）；请在 pair.yaml 中设置 nodes.dr.applicationName');
  });
});
