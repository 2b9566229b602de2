import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReportBody, EventLog, sealReport } from '../../dr-runbooks/index.js';
import { englishLines, tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

const tmp = tempDir('jinbao-lang-drill-');
afterAll(() => tmp.cleanup());

/** A sealed, unsigned report of a drill that failed its promote step. */
async function reportFile(name: string, tamper = false): Promise<string> {
  const log = new EventLog(() => 1_790_000_000_000);
  log.emit({ type: 'step-started', step: 'promote' });
  log.emit({ type: 'step-finished', step: 'promote', ok: false, detail: 'action failed: pg_ctl promote timed out' });
  const body = buildReportBody({
    runId: 'dr-zh',
    request: { site: '440000', siteName: '广东省', drSite: '440200', target: 'pg-local', scenario: 'switchover', replication: 'sync', probeRate: 200, detectionMs: 1000, catchUpTimeoutMs: 15_000, warmupMs: 700, failback: true, objectives: { rtoSeconds: 120, rpoSeconds: 0 } },
    events: log.events,
    outcome: { result: 'failed', failedStep: 'promote', reason: 'pg_ctl promote timed out' },
    measured: {},
    replicationTls: 'lab',
  });
  const sealed = await sealReport(body);
  const file = join(tmp.dir, name);
  writeFileSync(file, JSON.stringify(tamper ? { ...sealed, result: 'passed' } : sealed));
  return file;
}

describe('jinbao drill verify-report under --lang zh-CN', () => {
  it('GIVEN a report changed after sealing, and unsigned THEN each problem is Chinese, exit 3 as in English; --json is the same bytes', async () => {
    const file = await reportFile('forged.json', true);
    const zh = await runCli(['--lang', 'zh-CN', 'drill', 'verify-report', file]);
    const en = await runCli(['drill', 'verify-report', file]);
    expect(zh.code).toBe(3);
    expect(en.code).toBe(3);
    expect(zh.stdout).toContain('\n  - 摘要不一致：报告在封存后被修改过\n  - 报告未签名（生成时没有可用的 PKI 证据签名者）\n');
    expect(englishLines(zh.stdout)).toEqual([]);
    expect(en.stdout).toContain('\n  - digest mismatch: the report was changed after it was sealed\n');
    const [a, b] = [await runCli(['drill', 'verify-report', file, '--json']), await runCli(['--lang', 'zh-CN', 'drill', 'verify-report', file, '--json'])];
    expect(b.stdout).toBe(a.stdout);
    expect(b.code).toBe(a.code);
  });
});

describe('drill refusals under --lang zh-CN', () => {
  it('GIVEN a missing report file, a file that is no report and an unknown run THEN each refusal is Chinese, exit 2 as in English', async () => {
    const state = join(tmp.dir, 'state');
    const missing = join(tmp.dir, 'nope.json');
    const notJson = join(tmp.dir, 'text.json');
    writeFileSync(notJson, 'hello');
    for (const [args, text] of [
      [['drill', 'verify-report', missing], `jinbao: 无法读取报告 ${missing}：文件不存在\n`],
      [['drill', 'verify-report', notJson], 'jinbao: 不是演练报告：该文件不是 JSON（'],
      [['--state', state, 'drill', 'report', 'dr-nope'], 'jinbao: 状态库中没有演练运行“dr-nope”；查看运行列表：jinbao drill list\n'],
      [['--state', state, 'drill', 'abort', 'dr-nope'], 'jinbao: 状态库中没有演练运行“dr-nope”；查看运行列表：jinbao drill list\n'],
    ] as const) {
      const zh = await runCli(['--lang', 'zh-CN', ...args]);
      const en = await runCli([...args]);
      expect(zh.code, args.join(' ')).toBe(2);
      expect(en.code, args.join(' ')).toBe(2);
      expect(zh.stderr.startsWith(text), zh.stderr).toBe(true);
    }
  });
});
