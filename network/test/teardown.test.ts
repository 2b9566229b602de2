import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pickTag } from '../lab/index.js';
import { buildPlan, isLabIface, labDown, labProcesses, labUp, readJournal, systemProcs, type LabIdentity, type LabJournal, type ProcInfo, type ProcTable, type Runner } from '../index.js';
import type { JinbaoError } from '../../lib/errors.js';
import { errorText } from '../../lib/i18n/index.js';
import { englishLines } from '../../testkit/index.js';
import { smallFabric } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-teardown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST = 4026531840;
const p = (pid: number, argv: string, netns: number | undefined, ppid = 1, zombie = false): ProcInfo => ({ pid, ppid, start: 1000 + pid, argv: argv.split(' '), ...(netns !== undefined ? { netns } : {}), zombie });

/** Lab jbab12: node 0's namespace was deleted by hand (inode 900); node 1's still has its name (inode 902). */
const identity: LabIdentity = {
  tag: 'jbab12',
  namespaces: new Set(['jbab12-carrier', 'jbab12-000000', 'jbab12-130000']),
  named: new Set([902]),
  recorded: new Set([900, 901, 902]),
};
const table: ProcInfo[] = [
  p(1, '/sbin/init', HOST, 0),
  p(10, 'wireguard-go -f jbab120d', 900),
  p(11, 'sleep 60', 900),
  p(12, 'sleep 60', 901),
  p(13, 'bash /s/wan-lab/watch.sh jbab121u1 169.254.0.1 10.0.0.0/8@50', 902),
  p(14, 'sleep 0.5', 902, 13),
  p(15, 'ip route replace 10.0.0.0/8 dev x metric 50', 777, 13),
  p(16, 'wireguard-go -f jbff000d', 903),
  p(17, 'grep jbab120dd', HOST),
  p(18, 'ip netns exec jbab12-carrier nft -f -', HOST),
  p(19, 'sshd', HOST),
  p(20, 'node cli.js wan down jbab12-000000', HOST, 21),
  p(21, 'bash', HOST, 1),
  p(22, 'wireguard-go -f jbab121d', undefined, 1, true),
  p(23, 'cron', 901),
];

describe('which processes belong to a lab', () => {
  it('GIVEN the interface names of every role WHEN judged THEN the lab\'s are its own, a DR node\'s link to its province hub (s) and a hub\'s point-to-point link to a spoke (d<spoke>) included, and look-alikes are not', () => {
    for (const name of ['jb00a13d', 'jb00a12d4', 'jb00a10d13', 'jb00a13u1', 'jb00a13u2', 'jb00a10r', 'jb00a12r', 'jb00a13s', 'jb00a17v', 'jb00a17c']) expect(isLabIface('jb00a1', name)).toBe(true);
    for (const name of ['jb00a1s', 'jb00a13x', 'jb00a23s', 'jb00a13s1', 'wg-site']) expect(isLabIface('jb00a1', name)).toBe(false);
  });

  it('GIVEN a process table WHEN the lab\'s processes are found THEN each is there for a reason, and nothing else is', () => {
    const found = labProcesses(table, identity, 20).map((f) => `${f.proc.pid} ${f.why}`);
    expect(found).toEqual(['10 named', '11 namespace', '13 named', '14 namespace', '15 child', '18 named']);
  });

  it('GIVEN a recorded namespace inode that no lab process lives in any more (the kernel reused it) THEN nothing in it is touched', () => {
    const found = labProcesses(table, identity, 20).map((f) => f.proc.pid);
    expect(found).not.toContain(12);
    expect(found).not.toContain(23);
  });

  it('GIVEN a named process in the host namespace THEN the host namespace is never taken for the lab\'s', () => {
    const found = labProcesses(table, { ...identity, named: new Set([HOST]), recorded: new Set([HOST]) }, 20).map((f) => f.proc.pid);
    expect(found).toContain(18);
    expect(found).not.toContain(19);
    expect(found).not.toContain(1);
  });

  it('GIVEN the real process table THEN this test process is never one of a lab\'s, even when it names the lab', () => {
    const self = systemProcs.get(process.pid)!;
    expect(self.start).toBeGreaterThan(0);
    const tag = 'jbzz99';
    const found = labProcesses([{ ...self, argv: [...self.argv, `${tag}0d`] }, ...systemProcs.list().filter((x) => x.pid !== process.pid)], { tag, namespaces: new Set(), named: new Set(), recorded: new Set() });
    expect(found).toEqual([]);
  });
});

/** A made-up machine: processes die on the signals listed for them; every `ip` command is recorded and answered from the lists. */
function machine(procs: ProcInfo[], diesOn: Record<number, 'SIGTERM' | 'SIGKILL' | 'never'>, netns: string[], links: string[]) {
  const alive = new Map(procs.map((x) => [x.pid, x]));
  const signals: string[] = [];
  const commands: string[] = [];
  const table: ProcTable = {
    list: () => [...alive.values()],
    get: (pid) => alive.get(pid),
    signal(pid, sig) {
      signals.push(`${pid} ${sig}`);
      const d = diesOn[pid] ?? 'SIGTERM';
      if (d === sig || (d === 'SIGTERM' && sig === 'SIGKILL')) alive.delete(pid);
    },
    netnsInode: (name) => (netns.includes(name) ? 902 : undefined),
  };
  const runner: Runner = {
    start: () => {
      throw new Error('nothing starts during down');
    },
    async run(cmd, args) {
      commands.push([cmd, ...args].join(' '));
      if (args.join(' ') === 'netns list') return { stdout: netns.map((n) => `${n}\n`).join(''), stderr: '', code: 0 };
      if (args.join(' ') === '-o link show') return { stdout: links.map((l) => `${l}\n`).join(''), stderr: '', code: 0 };
      if (args[0] === 'netns' && args[1] === 'del') netns.splice(netns.indexOf(args[2]!), 1);
      return { stdout: '', stderr: '', code: 0 };
    },
  };
  return { table, runner, signals, commands };
}

function journalIn(stateDir: string, extra: Partial<LabJournal> = {}): void {
  mkdirSync(join(stateDir, 'wan-lab'), { recursive: true });
  const j: LabJournal = {
    tag: 'jbab12',
    status: 'building',
    createdAt: '2026-11-27T00:00:00Z',
    nodes: [{ id: '000000', ns: 'jbab12-000000', idx: 0 }, { id: '130000', ns: 'jbab12-130000', idx: 1 }],
    carrier: 'jbab12-carrier',
    namespaces: ['jbab12-carrier', 'jbab12-000000', 'jbab12-130000'],
    inodes: { 'jbab12-000000': 900, 'jbab12-130000': 902 },
    processes: [{ pid: 10, what: 'wireguard-go', name: 'jbab120d', ns: 'jbab12-000000' }, { what: 'wireguard-go', name: 'jbab121d', ns: 'jbab12-130000' }],
    cuts: [],
    ...extra,
  };
  writeFileSync(join(stateDir, 'wan-lab', 'lab.json'), JSON.stringify(j));
}

describe('down on a made-up machine (no root needed)', () => {
  it('GIVEN a crashed lab: a recorded process, one never recorded, one that ignores SIGTERM WHEN down runs THEN each is stopped by pid, escalating only when needed, and only the lab\'s names are removed', async () => {
    const state = join(dir, 'down');
    journalIn(state);
    const sockets = join(dir, 'sockets');
    mkdirSync(sockets, { recursive: true });
    for (const f of ['jbab120d.sock', 'jbab121u1.sock', 'jbff000d.sock', 'jbab12x.sock']) writeFileSync(join(sockets, f), '');
    const m = machine(
      [p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900), p(11, 'wireguard-go -f jbab121d', 902), p(12, 'sleep 60', 902), p(16, 'wireguard-go -f jbff000d', 903), p(19, 'sshd', HOST)],
      { 12: 'SIGKILL' },
      ['jbab12-carrier', 'jbab12-130000', 'jbab12-stray', 'jbff00-carrier'],
      ['1: lo: <LOOPBACK,UP>', '7: jbab121v@if8: <BROADCAST> mtu 1500', '9: jbff001v@if3: <BROADCAST>', '11: eth0: <BROADCAST,UP>'],
    );
    const lines: string[] = [];
    const d = await labDown({ stateDir: state, runner: m.runner, procs: m.table, graceMs: 20, socketDir: sockets, log: (l) => lines.push(l) });
    expect(d.stopped).toEqual([
      { pid: 10, command: 'wireguard-go -f jbab120d', why: 'named', signal: 'SIGTERM', recorded: true },
      { pid: 11, command: 'wireguard-go -f jbab121d', why: 'named', signal: 'SIGTERM', recorded: false },
      { pid: 12, command: 'sleep 60', why: 'namespace', signal: 'SIGKILL', recorded: false },
    ]);
    expect(m.signals).toEqual(['10 SIGTERM', '11 SIGTERM', '12 SIGTERM', '12 SIGKILL']);
    expect(lines).toContain('lab jbab12: pid 12 (sleep 60) outlived SIGTERM; sent SIGKILL');
    expect(d).toMatchObject({ tag: 'jbab12', processes: 3, namespaces: 3, sockets: 2, links: 1 });
    expect(m.commands.filter((c) => / del /.test(c))).toEqual(['ip netns del jbab12-stray', 'ip netns del jbab12-130000', 'ip netns del jbab12-carrier', 'ip link del jbab121v']);
    expect(readdirSync(sockets).sort()).toEqual(['jbab12x.sock', 'jbff000d.sock']);
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN a lab process that outlives SIGKILL WHEN down runs THEN it fails naming the process, and keeps the journal for the next try', async () => {
    const state = join(dir, 'stuck');
    journalIn(state);
    const m = machine([p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900)], { 10: 'never' }, ['jbab12-carrier'], []);
    await expect(labDown({ stateDir: state, runner: m.runner, procs: m.table, graceMs: 20, socketDir: join(dir, 'none') })).rejects.toThrow(
      `lab jbab12: 1 process(es) still run after SIGTERM and SIGKILL: pid 10 (wireguard-go -f jbab120d); the journal in ${join(state, 'wan-lab')} is kept; once they have exited (a process in uninterruptible sleep exits when its I/O does), run again: jinbao wan down`,
    );
    expect(m.signals).toEqual(['10 SIGTERM', '10 SIGKILL', '10 SIGKILL']);
    expect(m.commands).not.toContain('ip netns del jbab12-carrier');
    expect(readJournal(state)?.tag).toBe('jbab12');
  });

  it('GIVEN a pid reused by another program between the scan and the signal THEN it is not signalled', async () => {
    const state = join(dir, 'reused');
    journalIn(state);
    const m = machine([p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900)], {}, [], []);
    // The first scan sees the lab's wireguard-go; from then on pid 10 is a new, unrelated process.
    const sshd = { ...p(10, 'sshd', HOST), start: 99_999 };
    let scans = 0;
    m.table.list = () => (scans++ === 0 ? [p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900)] : [p(1, '/sbin/init', HOST, 0), sshd]);
    m.table.get = (pid) => (pid === 10 ? sshd : undefined);
    await labDown({ stateDir: state, runner: m.runner, procs: m.table, graceMs: 20, socketDir: join(dir, 'none') });
    expect(m.signals).toEqual([]);
  });
});

describe('a lab that is already recorded', () => {
  const fabric = smallFabric();
  const plan = buildPlan(fabric, fabric.allocate().allocations, { counties: false });

  it('GIVEN a bring-up whose process still runs WHEN another comes up THEN it refuses, naming that process', async () => {
    const state = join(dir, 'busy');
    const self = systemProcs.get(process.pid)!;
    journalIn(state, { owner: { pid: self.pid, start: self.start } });
    await expect(labUp({ stateDir: state }, plan, ['000000'], new Map())).rejects.toThrow(
      `a WAN lab (jbab12) is being brought up in ${join(state, 'wan-lab')} by process ${process.pid}; wait for it, or stop that process and run: jinbao wan down`,
    );
    expect(existsSync(join(state, 'wan-lab', 'lab.json'))).toBe(true);
  });

  it('GIVEN a bring-up whose process still runs WHEN down runs from another process THEN it refuses to race it and says how to stop it', async () => {
    const state = join(dir, 'busy-down');
    const parent = systemProcs.get(process.ppid)!;
    journalIn(state, { owner: { pid: parent.pid, start: parent.start } });
    await expect(labDown({ stateDir: state })).rejects.toThrow(
      `the WAN lab jbab12 in ${join(state, 'wan-lab')} is still being brought up by process ${parent.pid}; stop it first (kill ${parent.pid}), then run: jinbao wan down`,
    );
    expect(readJournal(state)?.tag).toBe('jbab12');
  });
});

describe('lab tags', () => {
  it('GIVEN tags in use WHEN a tag is picked THEN the next free one is taken', () => {
    expect(pickTag((t) => t === 'jb00ff' || t === 'jb0100', 0xff)).toBe('jb0101');
    expect(pickTag(() => false, 0xffff)).toBe('jbffff');
  });

  it('GIVEN every tag in use THEN it says so and how to free them', () => {
    expect(() => pickTag(() => true)).toThrow('every lab tag (jb0000 to jbffff) is in use by a namespace, WireGuard socket or process on this machine; remove old labs with: jinbao wan down');
  });
});

describe('the lab under --lang zh-CN (the same runs, said in Chinese)', () => {
  const zh = (err: unknown) => errorText(err as JinbaoError, 'zh-CN');

  it('GIVEN a crashed lab WHEN down runs in Chinese THEN each progress line is Chinese, with the same pids and commands', async () => {
    const state = join(dir, 'down-zh');
    journalIn(state);
    const m = machine([p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900), p(12, 'sleep 60', 902)], { 12: 'SIGKILL' }, ['jbab12-carrier', 'jbab12-130000'], []);
    const lines: string[] = [];
    await labDown({ stateDir: state, runner: m.runner, procs: m.table, graceMs: 20, socketDir: join(dir, 'none'), log: (l) => lines.push(l), lang: 'zh-CN' });
    expect(lines).toEqual([
      '实验网 jbab12：正在停止进程 10（wireguard-go -f jbab120d；名称属于实验网）',
      '实验网 jbab12：正在停止进程 12（sleep 60；位于实验网的网络命名空间）',
      '实验网 jbab12：进程 12（sleep 60）收到 SIGTERM 后仍在运行；已发送 SIGKILL',
    ]);
    expect(lines.flatMap(englishLines)).toEqual([]);
  });

  it('GIVEN a process that outlives SIGKILL THEN the failure is Chinese on screen and English in the error message', async () => {
    const state = join(dir, 'stuck-zh');
    journalIn(state);
    const m = machine([p(1, '/sbin/init', HOST, 0), p(10, 'wireguard-go -f jbab120d', 900)], { 10: 'never' }, [], []);
    const err = await labDown({ stateDir: state, runner: m.runner, procs: m.table, graceMs: 20, socketDir: join(dir, 'none') }).catch((e: unknown) => e);
    expect((err as JinbaoError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/^lab jbab12: 1 process\(es\) still run after SIGTERM and SIGKILL: /);
    expect(zh(err)).toBe(`实验网 jbab12：发送 SIGTERM 和 SIGKILL 后仍有 1 个进程在运行：pid 10 (wireguard-go -f jbab120d)；${join(state, 'wan-lab')} 中的记录已保留；待这些进程退出后（处于不可中断睡眠的进程在其 I/O 完成时退出），请再次运行：jinbao wan down`);
  });

  it('GIVEN a lab already recorded, or one being built by a live process THEN up and down refuse in Chinese, exit 2', async () => {
    const fabric = smallFabric();
    const plan = buildPlan(fabric, fabric.allocate().allocations, { counties: false });
    const up = join(dir, 'recorded-zh');
    journalIn(up, { status: 'up' });
    const recorded = await labUp({ stateDir: up, lang: 'zh-CN' }, plan, ['000000'], new Map()).catch((e: unknown) => e);
    expect((recorded as JinbaoError).exitCode).toBe(2);
    expect(zh(recorded)).toBe(`${join(up, 'wan-lab')} 中已记录了一个 WAN 实验网（jbab12，up）；请先清除：jinbao wan down`);
    const busy = join(dir, 'busy-down-zh');
    const parent = systemProcs.get(process.ppid)!;
    journalIn(busy, { owner: { pid: parent.pid, start: parent.start } });
    const racing = await labDown({ stateDir: busy }).catch((e: unknown) => e);
    expect(zh(racing)).toBe(`${join(busy, 'wan-lab')} 中的 WAN 实验网 jbab12 仍在由进程 ${parent.pid} 启动；请先停止该进程（kill ${parent.pid}），再运行：jinbao wan down`);
  });

  it('GIVEN every tag in use THEN the refusal is Chinese', () => {
    let err: unknown;
    try {
      pickTag(() => true);
    } catch (e) {
      err = e;
    }
    expect(zh(err)).toBe('所有实验网标签（jb0000 到 jbffff）都已被本机的网络命名空间、WireGuard 套接字或进程占用；请清除旧的实验网：jinbao wan down');
  });
});
