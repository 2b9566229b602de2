import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { loadFabric } from '../../fabric/index.js';
import { buildPlan, generateKeyPair, labDown, labNodes, labUp, readJournal, systemRunner, timeToReach, type CheckResult, type LabJournal, type Runner } from '../index.js';

const isRoot = process.getuid?.() === 0;
const has = (bin: string) => {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', bin]);
    return true;
  } catch {
    return false;
  }
};
const canLab = isRoot && ['wireguard-go', 'wg', 'wg-quick', 'nft', 'ip', 'ping'].every(has);
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-lab-'));
const namespaces = () => execFileSync('ip', ['netns', 'list']).toString();
const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** Whatever a test left behind is removed through the same journal `down` reads. */
const journals: string[] = [];
afterAll(async () => {
  for (const stateDir of journals) await labDown({ stateDir }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('lab refusals (no namespaces needed)', () => {
  it('GIVEN a lab larger than the machine WHEN `wan up --lab` runs THEN exit 2 with the limit and nothing recorded', async () => {
    const state = join(dir, 'too-large');
    const r = await runCli(['--state', state, 'wan', 'up', '--lab', '--provinces', '30', '--prefectures', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('jinbao: a lab of 182 nodes is larger than this machine can hold: the limit is');
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN a count that is not a number THEN exit 2 naming the option', async () => {
    const r = await runCli(['--state', join(dir, 'nan'), 'wan', 'up', '--lab', '--provinces', 'two']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: --provinces must be a whole number, got "two"\n');
  });

  it('GIVEN a user who is not root WHEN `wan up --lab` runs THEN exit 4 saying it needs root and why', async () => {
    // getuid is optional in Node's typings (absent on Windows); it exists here.
    const spy = vi.spyOn(process as { getuid: () => number }, 'getuid').mockReturnValue(1000);
    try {
      const r = await runCli(['--state', join(dir, 'not-root'), 'wan', 'up', '--lab', '--provinces', '1', '--prefectures', '1']);
      expect(r.code).toBe(4);
      expect(r.stderr).toBe('jinbao: the WAN lab needs root: it creates network namespaces, veth pairs and TUN devices; run it as root (e.g. sudo jinbao wan up --lab)\n');
    } finally {
      spy.mockRestore();
    }
  });

  it('GIVEN no lab WHEN `wan check` runs THEN exit 2 telling how to start one; `wan down` has nothing to do', async () => {
    const state = join(dir, 'none');
    const r = await runCli(['--state', state, 'wan', 'check']);
    if (isRoot) {
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`jinbao: no WAN lab is recorded in ${join(state, 'wan-lab')}; start one with: jinbao wan up --lab\n`);
    }
    const d = await runCli(['--state', state, 'wan', 'down']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('no WAN lab recorded');
    const dj = await runCli(['--state', state, 'wan', 'down', '--json']);
    expect(JSON.parse(dj.stdout)).toEqual({ removed: false, reason: `no WAN lab recorded in ${state}` });
  });
});

describe.skipIf(!canLab)('the lab for real: ministry core + DR center, 2 provinces x 2 prefectures (root with wireguard-go, wireguard-tools, nftables, iproute2; skipped otherwise)', () => {
  const state = join(dir, 'lab');
  journals.push(state);
  let journal: LabJournal;
  const fabric = loadFabric();
  const plan = buildPlan(fabric, fabric.allocate().allocations, { counties: false });

  /** The matrix must match the policy; the exit code also says whether every link is up. */
  const check = async (linksDown = 0): Promise<CheckResult> => {
    const r = await runCli(['--state', state, 'wan', 'check', '--json']);
    const result = JSON.parse(r.stdout) as CheckResult;
    const bad = result.pairs.filter((p) => !p.ok).map((p) => `${p.from}->${p.to} ${p.service}: policy ${p.expected}, observed ${p.observed}`);
    expect(bad).toEqual([]);
    expect(result.links.filter((l) => !l.up).map((l) => `${l.spoke}->${l.hub}`)).toHaveLength(linksDown);
    expect(r.code).toBe(linksDown === 0 ? 0 : 1);
    return result;
  };
  /** Poll (bounded) until the province's primary line carries its routes again, on both ends. */
  const primaryRoutesBack = async (node: string): Promise<boolean> => {
    const entry = journal.nodes.find((n) => n.id === node)!;
    const core = journal.nodes.find((n) => n.id === '000000')!;
    for (let i = 0; i < 120; i++) {
      const own = execFileSync('ip', ['-n', entry.ns, 'route', 'show', 'dev', `${journal.tag}${entry.idx}u1`]).toString();
      const hub = execFileSync('ip', ['-n', core.ns, 'route', 'show', 'dev', `${journal.tag}${core.idx}d`]).toString();
      if (own.includes('metric 50') && hub.includes(`${plan.nodes.get(node)!.aggregate} scope link metric 100`)) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };

  it('GIVEN root WHEN `wan up --lab` runs THEN every node has its namespace and its wireguard-go processes run', async () => {
    const r = await runCli(['--state', state, 'wan', 'up', '--lab', '--provinces', '2', '--prefectures', '2']);
    expect(r.stderr).not.toContain('failed');
    expect(r.code).toBe(0);
    journal = readJournal(state)!;
    expect(journal.status).toBe('up');
    expect(journal.nodes.map((n) => n.id).slice(0, 2)).toEqual(['000000', 'dr-000000']);
    expect(journal.nodes).toHaveLength(8);
    for (const ns of journal.namespaces) expect(namespaces()).toContain(ns);
    for (const p of journal.processes) expect(alive(p.pid!)).toBe(true);
  });

  it('WHEN `wan check` runs THEN every allowed pair connects, every denied pair is blocked, and every link has a handshake', async () => {
    const result = await check();
    expect(result.summary.allowed).toBeGreaterThan(50);
    expect(result.summary.denied).toBeGreaterThan(100);
    const [, , p1, f1, f2] = journal.nodes.map((n) => n.id);
    expect(result.pairs.find((p) => p.from === f1 && p.to === f2 && p.service === 'ping')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(result.pairs.find((p) => p.from === '000000' && p.to === f1 && p.service === 'ssh')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(result.pairs.find((p) => p.from === p1 && p.to === '000000' && p.service === 'ssh')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(result.summary.linksUp).toBe(result.summary.links);
    for (const l of result.links) expect(l.handshakeAgeSeconds).toBeLessThan(180);
    const last = await runCli(['--state', state, 'wan', 'check', '--last', '--json']);
    expect(JSON.parse(last.stdout).checkedAt).toBe(result.checkedAt);
  });

  it('GIVEN a province whose primary uplink is cut WHEN its prefectures ping the ministry THEN they get through on the second uplink, and the matrix still holds', async () => {
    const [, , p1, f1] = journal.nodes.map((n) => n.id);
    const cut = await runCli(['--state', state, 'wan', 'cut', '--site', p1!]);
    expect(cut.stdout).toBe(`cut the primary line between ${p1} and 000000\n`);
    const seconds = await timeToReach({ stateDir: state }, plan, f1!, '000000', 30_000);
    expect(seconds).toBeDefined();
    const result = await check(1);
    expect(result.links.find((l) => l.spoke === p1 && l.kind === 'primary')!.up).toBe(false);
    const restore = await runCli(['--state', state, 'wan', 'cut', '--site', p1!, '--restore']);
    expect(restore.stdout).toBe(`restored the primary line between ${p1} and 000000\n`);
    expect(await primaryRoutesBack(p1!)).toBe(true);
  });

  it('WHEN a province hub\'s keys are rotated THEN its peers hold the new key, the old one is gone, and every pair still behaves', async () => {
    const [, , p1] = journal.nodes.map((n) => n.id);
    const before = JSON.parse((await runCli(['--state', state, 'wan', 'keys', '--site', p1!, '--json'])).stdout).keys[0].publicKey as string;
    const r = await runCli(['--state', state, 'wan', 'rotate', '--site', p1!, '--json']);
    expect(r.code).toBe(0);
    const after = JSON.parse(r.stdout) as { publicKey: string; generation: number };
    expect(after.generation).toBe(2);
    const coreIfaces = journal.processes.filter((p) => p.what === 'wireguard-go' && p.name.startsWith(`${journal.tag}0`)).map((p) => p.name);
    const peers = coreIfaces.map((i) => execFileSync('wg', ['show', i, 'peers']).toString()).join('');
    expect(peers).toContain(after.publicKey);
    expect(peers).not.toContain(before);
    expect(await primaryRoutesBack(p1!)).toBe(true);
    await check();
  });

  it('WHEN `wan down` runs THEN no namespace, interface socket or process of the lab is left', async () => {
    const r = await runCli(['--state', state, 'wan', 'down']);
    expect(r.code).toBe(0);
    // Every recorded process, plus whatever a watch was running at that moment (its ping or sleep).
    const stopped = /^lab (\w+) removed: (\d+) processes stopped, (\d+) namespaces deleted\n$/.exec(r.stdout);
    expect(stopped?.slice(1)).toEqual([journal.tag, expect.any(String), String(journal.namespaces.length)]);
    expect(Number(stopped![2])).toBeGreaterThanOrEqual(journal.processes.length);
    expect(namespaces()).not.toContain(journal.tag);
    for (const p of journal.processes) {
      expect(alive(p.pid!)).toBe(false);
      expect(existsSync(`/var/run/wireguard/${p.name}.sock`)).toBe(false);
    }
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN a bring-up that fails half-way (nft refuses) THEN what was made is torn down and the error says what failed', async () => {
    const failing = join(dir, 'failing');
    journals.push(failing);
    const runner: Runner = {
      start: systemRunner.start,
      run: (cmd, args, opts) => (args.includes('nft') && args.includes('-f') ? Promise.resolve({ stdout: '', stderr: 'injected failure', code: 1 }) : systemRunner.run(cmd, args, opts)),
    };
    const ids = labNodes(plan, { provinces: 1, prefectures: 1 });
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    let tag = '';
    await expect(
      labUp({ stateDir: failing, runner, log: (l) => (tag ||= /lab (jb\w+)/.exec(l)?.[1] ?? '') }, plan, ids, keys),
    ).rejects.toThrow(/nft -f .*nftables.nft" failed \(exit 1\): injected failure/);
    expect(tag).not.toBe('');
    expect(namespaces()).not.toContain(tag);
    expect(readdirSync('/var/run/wireguard').filter((f) => f.startsWith(tag))).toEqual([]);
    const named = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(tag));
      } catch {
        return false;
      }
    });
    expect(named).toEqual([]);
    expect(readJournal(failing)).toBeUndefined();
  });
});
