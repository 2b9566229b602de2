import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import type { JinbaoError } from '../../lib/errors.js';
import { errorText, translator } from '../../lib/i18n/index.js';
import { englishLines } from '../../testkit/index.js';
import { buildPlan, labCut, labKill, labNodes, type LabJournal } from '../index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { must, type Runner } from '../exec.js';
import { phaseTimings } from '../lab/bring-up.js';
import { uapiSetText } from '../lab/control.js';
import { waitFor } from '../lab/namespaces.js';
import { smallFabric, smallInput } from './fixture.js';

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

  it('the converged line, with its phase timings: phase labels in Chinese, the phase ids in English', () => {
    const phases = { render: 0.5, namespaces: 1.5 };
    expect(zh('lab.log.converged', { tag: 'jbcd34', nodes: 7, seconds: '12.5', phases: phaseTimings(phases, zh) })).toBe('实验网 jbcd34：7 个节点已启动，路由收敛用时 12.5 秒（生成配置 0.5 秒，创建网络命名空间 1.5 秒）');
    expect(en('lab.log.converged', { tag: 'jbcd34', nodes: 7, seconds: '12.5', phases: phaseTimings(phases, en) })).toBe('lab jbcd34: 7 nodes up and converged in 12.5 s (render 0.5 s, namespaces 1.5 s)');
  });

  it('every bring-up phase has a label: its id in English, a Chinese label in Chinese', () => {
    const all = { render: 0.1, namespaces: 0.2, underlay: 0.3, check: 0.4, nodes: 0.5, converge: 0.6 };
    expect(phaseTimings(all, en)).toBe('render 0.1 s, namespaces 0.2 s, underlay 0.3 s, check 0.4 s, nodes 0.5 s, converge 0.6 s');
    expect(phaseTimings(all, zh)).toBe('生成配置 0.1 秒，创建网络命名空间 0.2 秒，搭建承载网 0.3 秒，检查路由配置 0.4 秒，启动节点 0.5 秒，路由收敛 0.6 秒');
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

describe('the plan\'s refusals (topology) in each language', () => {
  it('GIVEN allocations missing a site THEN the refusal names it in both languages, exit 2', async () => {
    const partial = new Map([...fabric.allocate().allocations].filter(([id]) => id !== '440300'));
    expect(await refusal(() => buildPlan(fabric, partial))).toEqual({
      en: '1 site(s) have no overlay address: 440300; allocate them with "jinbao ipam" (pinned prefixes in the inventory must not overlap)',
      zh: '1 个站点没有叠加网地址：440300；请用“jinbao ipam”分配（资源清单中固定的前缀不得重叠）',
      exitCode: 2,
    });
  });

  it('GIVEN a data-center network with host bits set THEN the network and the reason are said in Chinese', async () => {
    const allocations = new Map(fabric.allocate().allocations);
    allocations.set('440100', { ...allocations.get('440100')!, dc: '10.9.9.9/24' });
    expect(await refusal(() => buildPlan(fabric, allocations))).toEqual({
      en: 'site 440100 data-center network: "10.9.9.9/24" has host bits set, did you mean "10.9.9.0/24"?',
      zh: '站点 440100 的数据中心网络：“10.9.9.9/24”的主机位不为零，是否应为“10.9.9.0/24”？',
      exitCode: 2,
    });
  });

  it('GIVEN underlay prefixes too small for a site and the DR center it hosts THEN the fix is said in Chinese', async () => {
    const input = smallInput();
    input.addressing = { overlay: '10.0.0.0/8', underlay: '172.16.0.0/12', lengths: { ministry: 14, province: 14, prefecture: 19, network: 24, underlay: 30 } };
    const small = smallFabric(input);
    const underlay = small.allocate().allocations.get('440000')!.underlay;
    const r = await refusal(() => buildPlan(small, small.allocate().allocations));
    expect(r.zh).toBe(`站点 440000 的承载网前缀 ${underlay} 只能容纳 1 个端点，需要 2 个（其自身节点和其承载的灾备中心）；请将 addressing.lengths.underlay 设为 29 或更短`);
    expect(r.en).toBe(`underlay prefix ${underlay} of site 440000 has room for 1 endpoint(s), needs 2 (its own node and the DR centers it hosts); use addressing.lengths.underlay of 29 or shorter`);
  });
});

describe('the lab\'s daemons and commands: failures in each language', () => {
  it('GIVEN a wireguard key the lab never sends THEN the refusal is Chinese, English text unchanged', async () => {
    expect(await refusal(() => uapiSetText('[Interface]\nFwMark = 1\n'))).toEqual({
      en: 'wireguard configuration key FwMark is not one the lab sends (FwMark = 1)',
      zh: 'WireGuard 配置项 FwMark 不是实验网下发的配置项（FwMark = 1）',
      exitCode: 1,
    });
  });

  it('GIVEN a command that fails THEN the command, its exit code and its words are said in Chinese', async () => {
    const runner: Runner = { run: async () => ({ stdout: '', stderr: 'RTNETLINK answers: File exists\n', code: 2 }), start: () => 1 };
    expect(await refusal(() => must(runner, 'ip', ['-n', 'jbcd34-000000', 'link', 'add', 'x']))).toEqual({
      en: '"ip -n jbcd34-000000 link add x" failed (exit 2): RTNETLINK answers: File exists',
      zh: '“ip -n jbcd34-000000 link add x”执行失败（退出码 2）：RTNETLINK answers: File exists',
      exitCode: 1,
    });
  });

  it('GIVEN a wait that never ends THEN the timeout says what it waited for in Chinese', async () => {
    const what = () => ({ catalogue: NETWORK_MESSAGES, key: 'labDaemon.waiting.daemonSocket', params: { id: '440000', socket: '/s/1.ctl', said: { catalogue: NETWORK_MESSAGES, key: 'labDaemon.said', params: { text: 'bird: /x/bird.conf:12:3 syntax error' } } } });
    expect(await refusal(() => waitFor(() => false, 10, what))).toEqual({
      en: 'timed out after 10 ms waiting for the routing daemon of node 440000 to open /s/1.ctl: bird: /x/bird.conf:12:3 syntax error',
      zh: '已等待 10 毫秒，仍未等到节点 440000 的路由守护进程打开 /s/1.ctl：bird: /x/bird.conf:12:3 syntax error',
      exitCode: 1,
    });
  });
});

describe('the CLI says a bad address prefix in the user\'s language', () => {
  it('GIVEN an inventory whose overlay supernet has host bits set WHEN wan render runs with --lang zh-CN THEN stderr is Chinese and the exit code 2; in English the text is unchanged', async () => {
    const input = smallInput();
    input.addressing = { ...input.addressing!, overlay: '10.0.0.1/8' };
    const file = join(dir, 'bad-prefix.json');
    writeFileSync(file, JSON.stringify(input));
    const state = join(dir, 'bad-prefix-state');
    const zh = await runCli(['--inventory', file, '--state', state, '--lang', 'zh-CN', 'wan', 'render', '--out', join(dir, 'bad-prefix-out')]);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toContain('addressing.overlay: “10.0.0.1/8”的主机位不为零，是否应为“10.0.0.0/8”？');
    expect(zh.stderr).not.toContain('host bits');
    const en = await runCli(['--inventory', file, '--state', state, 'wan', 'render', '--out', join(dir, 'bad-prefix-out')]);
    expect(en.code).toBe(2);
    expect(en.stderr).toContain('addressing.overlay: "10.0.0.1/8" has host bits set, did you mean "10.0.0.0/8"?');
  });
});
