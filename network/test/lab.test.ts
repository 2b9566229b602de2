import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { loadFabric } from '../../fabric/index.js';
import { has, isRoot, smallFabric, smallInput } from './fixture.js';
import { buildPlan, generateKeyPair, labDown, labNodes, labUp, readJournal, systemRunner, timeToReach, type CheckResult, type LabJournal, type Runner } from '../index.js';

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
    // 2 ministry hubs + 30 provinces x (1 + 5 prefectures) + the DR nodes of the 23 chosen provinces that have one.
    expect(r.stderr).toContain('jinbao: a lab of 205 nodes is larger than this machine can hold: the limit is');
    expect(readJournal(state)).toBeUndefined();
    const counties = await runCli(['--state', state, 'wan', 'up', '--lab', '--provinces', '1', '--prefectures', '2', '--counties', '40']);
    expect(counties.code).toBe(2);
    expect(counties.stderr).toMatch(/^jinbao: a lab of 85 nodes is larger than this machine can hold: the limit is \d+ nodes .*; ask for fewer --provinces, --prefectures or --counties\n$/);
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN county platforms and an inventory whose underlay takes the lab\'s roaming range WHEN a lab is brought up THEN it refuses before making anything', async () => {
    const input = smallInput();
    const fabric = smallFabric({ ...input, addressing: { underlay: '100.64.0.0/12' } } as typeof input);
    const plan = buildPlan(fabric, fabric.allocate().allocations);
    const ids = labNodes(plan, { provinces: 1, prefectures: 1, counties: 1 }, 64 * 1024 ** 3);
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    const state = join(dir, 'roaming');
    await expect(labUp({ stateDir: state }, plan, ids, keys)).rejects.toThrow(
      `the lab gives county platforms underlay addresses in 100.64.0.0/16, but node 000000's underlay ${plan.nodes.get('000000')!.underlay!.prefix} overlaps it; bring the lab up without --counties, or move addressing.underlay elsewhere`,
    );
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN a count that is not a number THEN exit 2 naming the option', async () => {
    const r = await runCli(['--state', join(dir, 'nan'), 'wan', 'up', '--lab', '--provinces', 'two']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: --provinces: got "two", want a whole number of at least 1\n');
    const c = await runCli(['--state', join(dir, 'nan'), 'wan', 'up', '--lab', '--counties', '-1']);
    expect(c.code).toBe(2);
    expect(c.stderr).toBe('jinbao: --counties: got "-1", want a whole number of at least 0\n');
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

describe.skipIf(!canLab)('the lab for real: ministry core + DR center, 1 province with its DR node x 2 prefectures x 1 county (root with wireguard-go, wireguard-tools, nftables, iproute2; skipped otherwise)', () => {
  const state = join(dir, 'lab');
  journals.push(state);
  let journal: LabJournal;
  const fabric = loadFabric();
  const plan = buildPlan(fabric, fabric.allocate().allocations);
  const ids = () => journal.nodes.map((n) => n.id);

  /** The matrix must match the policy; the exit code also says whether every link is up. */
  const check = async (linksDown = 0): Promise<CheckResult> => {
    const r = await runCli(['--state', state, 'wan', 'check', '--json']);
    const result = JSON.parse(r.stdout) as CheckResult;
    const bad = result.pairs.filter((p) => !p.ok).map((p) => `${p.from}->${p.to} ${p.service}: policy ${p.expected}, observed ${p.observed}`);
    expect(bad).toEqual([]);
    expect(result.links.filter((l) => !l.up).map((l) => `${l.spoke}->${l.hub}`)).toHaveLength(linksDown);
    expect(r.code).toBe(linksDown === 0 ? 0 : 3);
    return result;
  };
  /** Poll (bounded) until a node's primary line carries its routes again, on both ends. */
  const primaryRoutesBack = async (node: string, hubId = '000000'): Promise<boolean> => {
    const entry = journal.nodes.find((n) => n.id === node)!;
    const core = journal.nodes.find((n) => n.id === hubId)!;
    for (let i = 0; i < 120; i++) {
      const own = execFileSync('ip', ['-n', entry.ns, 'route', 'show', 'dev', `${journal.tag}${entry.idx}u1`]).toString();
      const hub = execFileSync('ip', ['-n', core.ns, 'route', 'show', 'dev', `${journal.tag}${core.idx}d`]).toString();
      if (own.includes('metric 50') && hub.includes(`${plan.nodes.get(node)!.aggregate} scope link metric 100`)) return true;
      await new Promise((r) => setTimeout(r, 500));
    }
    return false;
  };

  it('GIVEN root WHEN `wan up --lab` runs THEN every node has its namespace and its wireguard-go processes run', async () => {
    const r = await runCli(['--state', state, 'wan', 'up', '--lab', '--provinces', '1', '--prefectures', '2', '--counties', '1']);
    expect(r.stderr).not.toContain('failed');
    expect(r.code).toBe(0);
    journal = readJournal(state)!;
    expect(journal.status).toBe('up');
    const [p1, d1, f1, f2, c1, c2] = ids().slice(2);
    expect(ids().slice(0, 2)).toEqual(['000000', 'dr-000000']);
    expect(d1).toBe(`dr-${p1}`);
    expect([f1, f2].map((id) => plan.nodes.get(id!)!.role)).toEqual(['prefecture', 'prefecture']);
    expect([c1, c2].map((id) => plan.nodes.get(id!)!.role)).toEqual(['county', 'county']);
    expect(plan.links).toEqual(expect.arrayContaining([{ hub: f1, spoke: c1, kind: 'primary' }, { hub: f2, spoke: c2, kind: 'primary' }, { hub: p1, spoke: d1, kind: 'dr' }]));
    expect(journal.nodes).toHaveLength(8);
    // The DR node runs the interfaces the render gives it: its two uplinks, its prefectures, and its province hub.
    const dr = journal.nodes[3]!;
    expect(journal.processes.filter((p) => p.what === 'wireguard-go' && p.ns === dr.ns).map((p) => p.name.slice(journal.tag.length)).sort()).toEqual([`${dr.idx}d`, `${dr.idx}s`, `${dr.idx}u1`, `${dr.idx}u2`]);
    expect(execFileSync('ip', ['-n', dr.ns, 'rule', 'show']).toString()).toContain(`iif ${journal.tag}${dr.idx}d lookup 200`);
    for (const ns of journal.namespaces) expect(namespaces()).toContain(ns);
    for (const p of journal.processes) expect(alive(p.pid!)).toBe(true);
  });

  it('WHEN `wan check` runs THEN every allowed pair connects, every denied pair is blocked, and every link has a handshake', async () => {
    const result = await check();
    expect(result.summary.allowed).toBeGreaterThan(50);
    expect(result.summary.denied).toBeGreaterThan(100);
    const [p1, d1, f1, f2, c1, c2] = ids().slice(2);
    const pair = (from: string, to: string, service: string) => result.pairs.find((p) => p.from === from && p.to === to && p.service === service);
    expect(pair(f1!, f2!, 'ping')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(pair('000000', f1!, 'ssh')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(pair(p1!, '000000', 'ssh')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    // The new nodes by tier: DR node and hub replicate, a DR node manages the prefectures, a county talks to its own prefecture only.
    expect(pair(p1!, d1!, 'replication')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(pair(d1!, f2!, 'ssh')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(pair(f1!, d1!, 'ssh')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(pair(f1!, c1!, 'ssh')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(pair(c1!, f1!, 'exchange')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(pair(f1!, c2!, 'ssh')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(pair(c1!, c2!, 'ping')).toMatchObject({ expected: 'deny', observed: 'blocked' });
    expect(pair('000000', c2!, 'scrape')).toMatchObject({ expected: 'allow', observed: 'open' });
    expect(result.links.map((l) => `${l.kind}:${l.hub}>${l.spoke}`)).toEqual(expect.arrayContaining([`dr:${p1}>${d1}`, `secondary:${d1}>${f1}`, `primary:${f1}>${c1}`]));
    expect(result.summary.linksUp).toBe(result.summary.links);
    for (const l of result.links) expect(l.handshakeAgeSeconds).toBeLessThan(180);
    const last = await runCli(['--state', state, 'wan', 'check', '--last', '--json']);
    expect(JSON.parse(last.stdout).checkedAt).toBe(result.checkedAt);
  });

  it('GIVEN a province whose primary uplink is cut WHEN its prefectures ping the ministry THEN they get through on the second uplink, and the matrix still holds', async () => {
    const [p1, , f1] = ids().slice(2);
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

  it('GIVEN a prefecture whose province-hub line is cut THEN its traffic, and its county\'s, goes over the province DR node, the matrix still holds, and the line comes back', async () => {
    const [p1, d1, f1, , c1] = ids().slice(2);
    const entry = (id: string) => journal.nodes.find((n) => n.id === id)!;
    const siteBytes = () => Number(execFileSync('ip', ['netns', 'exec', entry(d1!).ns, 'wg', 'show', `${journal.tag}${entry(d1!).idx}s`, 'transfer']).toString().trim().split(/\s+/)[1]);
    const cut = await runCli(['--state', state, 'wan', 'cut', '--site', f1!]);
    expect(cut.stdout).toBe(`cut the primary line between ${f1} and ${p1}\n`);
    expect(await timeToReach({ stateDir: state }, plan, f1!, '000000', 30_000)).toBeDefined();
    const route = execFileSync('ip', ['-n', entry(f1!).ns, 'route', 'get', plan.nodes.get('000000')!.address]).toString();
    expect(route).toContain(`dev ${journal.tag}${entry(f1!).idx}u2`);
    const before = siteBytes();
    const result = await check(1);
    expect(result.links.find((l) => l.spoke === f1 && l.kind === 'primary')!.up).toBe(false);
    expect(result.links.find((l) => l.spoke === f1 && l.kind === 'secondary')!.up).toBe(true);
    expect(result.pairs.find((p) => p.from === c1 && p.to === p1 && p.service === 'exchange')).toMatchObject({ expected: 'deny' });
    expect(result.pairs.find((p) => p.from === '000000' && p.to === c1 && p.service === 'ssh')).toMatchObject({ expected: 'allow', observed: 'open' });
    // The DR node's link to the province hub carried the prefecture's share of the matrix.
    expect(siteBytes()).toBeGreaterThan(before);
    const restore = await runCli(['--state', state, 'wan', 'cut', '--site', f1!, '--restore']);
    expect(restore.stdout).toBe(`restored the primary line between ${f1} and ${p1}\n`);
    expect(await primaryRoutesBack(f1!, p1!)).toBe(true);
  });

  it('WHEN a province hub\'s keys are rotated THEN its peers hold the new key, the old one is gone, and every pair still behaves', async () => {
    const [p1] = ids().slice(2);
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
