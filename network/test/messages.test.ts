import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JinbaoError } from '../../lib/errors.js';
import { errorText, translator } from '../../lib/i18n/index.js';
import { englishLines } from '../../testkit/index.js';
import { buildPlan, labCut, labKill, labNodes, type LabJournal } from '../index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { smallFabric } from './fixture.js';

/**
 * What the WAN lab says, in each language, without bringing a lab up: its refusals (sizes, faults on
 * nodes it does not have) and its progress lines. The lab itself is exercised by lab*.test.ts (root).
 */
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-words-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fabric = smallFabric();
const plan = buildPlan(fabric, fabric.allocate().allocations, { counties: false });

/** The error `fn` throws (or rejects with), said in both languages. */
async function refusal(fn: () => unknown): Promise<{ en: string; zh: string; exitCode: number }> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a refusal').toBeDefined();
  const e = err as JinbaoError;
  return { en: e.message, zh: errorText(e, 'zh-CN'), exitCode: e.exitCode };
}

/** A recorded lab that is up: the ministry and Guangdong (whose DR node is in it). */
function upLab(name: string, extra: Partial<LabJournal> = {}): string {
  const state = join(dir, name);
  mkdirSync(join(state, 'wan-lab'), { recursive: true });
  const ids = ['000000', 'dr-000000', '440000'].filter((id) => plan.nodes.has(id));
  const j: LabJournal = {
    tag: 'jbcd34',
    status: 'up',
    createdAt: '2026-11-27T00:00:00Z',
    nodes: ids.map((id, idx) => ({ id, ns: `jbcd34-${id}`, idx })),
    carrier: 'jbcd34-carrier',
    namespaces: [],
    inodes: {},
    processes: [],
    cuts: [],
    ...extra,
  };
  writeFileSync(join(state, 'wan-lab', 'lab.json'), JSON.stringify(j));
  return state;
}

describe('wan up --lab: the size refusals', () => {
  it('GIVEN zero provinces THEN the refusal names the flag in both languages, exit 2', async () => {
    const r = await refusal(() => labNodes(plan, { provinces: 0, prefectures: 1 }));
    expect(r).toEqual({ en: '--provinces must be a whole number of at least 1, got 0', zh: '--provinces 应为不小于 1 的整数，收到的是 0', exitCode: 2 });
  });

  it('GIVEN more provinces than the inventory has THEN the refusal counts them in Chinese', async () => {
    const r = await refusal(() => labNodes(plan, { provinces: 3, prefectures: 2 }, 64 * 1024 ** 3));
    expect(r.en).toMatch(/^the inventory has \d+ province\(s\) with at least 2 prefectures, got --provinces 3; lower --provinces, --prefectures or --counties$/);
    expect(r.zh).toMatch(/^资源清单中有至少 2 个地市的省只有 \d+ 个，收到的是 --provinces 3；请减少 --provinces、--prefectures 或 --counties$/);
  });

  it('GIVEN a lab larger than the machine holds THEN the limits are explained in Chinese', async () => {
    const r = await refusal(() => labNodes(plan, { provinces: 1, prefectures: 1 }, 1024 ** 2));
    expect(r.zh).toMatch(/^\d+ 个节点的实验网超出本机的容量：上限为 0 个节点（在小型机器上启动和探测的上限为 \d+ 个；按内存计算为 0 个，/);
    expect(englishLines(r.zh)).toEqual([]);
    expect(r.en).toMatch(/^a lab of \d+ nodes is larger than this machine can hold: the limit is 0 nodes/);
  });
});

describe('wan cut and wan kill: nodes the lab cannot act on', () => {
  it('GIVEN the ministry (it has no uplink) WHEN cut THEN the refusal is Chinese and suggests a node that has one', async () => {
    const r = await refusal(() => labCut({ stateDir: upLab('cut') }, plan, '000000', 'secondary'));
    expect(r.exitCode).toBe(2);
    expect(r.en).toMatch(/^node 000000 has no secondary uplink in lab jbcd34; cut a province's or prefecture's uplink, e\.g\. --site \S+$/);
    expect(r.zh).toMatch(/^实验网 jbcd34 中节点 000000 没有备用上联链路；请切断省或地市节点的上联链路，如 --site \S+$/);
  });

  it('GIVEN a node that is not in the lab THEN the lab is named in Chinese', async () => {
    const r = await refusal(() => labCut({ stateDir: upLab('cut-missing') }, plan, '110000', 'primary'));
    expect(r.zh).toMatch(/^实验网 jbcd34 中没有 WAN 节点“110000”/);
    expect(r.en).toMatch(/^no WAN node "110000" in lab jbcd34; /);
  });

  it('GIVEN a node that is not killed WHEN restored, and one already killed WHEN killed THEN each refusal is Chinese', async () => {
    const notKilled = await refusal(() => labKill({ stateDir: upLab('kill') }, plan, '440000', true));
    expect(notKilled.zh).toBe('实验网 jbcd34 的节点 440000 未被停止；请先停止：jinbao wan kill --site 440000');
    expect(notKilled.en).toBe('node 440000 of lab jbcd34 is not killed; kill it first with: jinbao wan kill --site 440000');
    const again = await refusal(() => labKill({ stateDir: upLab('kill-again', { killed: ['440000'] }) }, plan, '440000'));
    expect(again.zh).toBe('实验网 jbcd34 的节点 440000 已被停止；恢复它：jinbao wan kill --site 440000 --restore');
  });
});

describe("the bring-up's progress lines in each language", () => {
  const zh = translator('zh-CN', NETWORK_MESSAGES);
  const en = translator('en', NETWORK_MESSAGES);

  it('the converged line, with its phase timings', () => {
    const phases = (t: typeof zh) => ['render', 'namespaces'].map((phase, i) => t('lab.log.phase', { phase, seconds: (i + 0.5).toFixed(1) })).join(t('lab.log.separator'));
    expect(zh('lab.log.converged', { tag: 'jbcd34', nodes: 7, seconds: '12.5', phases: phases(zh) })).toBe('实验网 jbcd34：7 个节点已启动，路由收敛用时 12.5 秒（render 0.5 秒，namespaces 1.5 秒）');
    expect(en('lab.log.converged', { tag: 'jbcd34', nodes: 7, seconds: '12.5', phases: phases(en) })).toBe('lab jbcd34: 7 nodes up and converged in 12.5 s (render 0.5 s, namespaces 1.5 s)');
  });

  it('a failed bring-up, its leftovers and its teardown', () => {
    const lines = [
      zh('lab.log.leftovers', { tag: 'jbcd34', dir: '/s/wan-lab', pid: 4242 }),
      zh('lab.log.removed', { tag: 'jbcd34', processes: 12, namespaces: 8 }),
      zh('lab.log.failed', { tag: 'jbcd34' }),
      zh('lab.log.teardownFailed', { tag: 'jbcd34', reason: 'EBUSY' }),
    ];
    expect(lines).toEqual([
      '实验网 jbcd34：/s/wan-lab 中之前的一次启动未完成（其进程 4242 已不存在）；正在清除其遗留',
      '实验网 jbcd34 已清除：停止进程 12 个，删除网络命名空间 8 个',
      '实验网 jbcd34：启动失败，正在清除已创建的部分',
      '实验网 jbcd34：清除也失败了：EBUSY',
    ]);
    expect(lines.flatMap(englishLines)).toEqual([]);
    expect(en('lab.log.removed', { tag: 'jbcd34', processes: 12, namespaces: 8 })).toBe('lab jbcd34 removed: 12 processes stopped, 8 namespaces deleted');
  });
});
