import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { loadFabric } from '../../fabric/index.js';
import { has, isRoot, smallFabric, smallInput } from './fixture.js';
import { buildPlan, generateKeyPair, parseSessions, labDown, labKill, labNodes, labUp, readJournal, systemRunner, timeToReach, type CheckResult, type LabJournal, type Runner } from '../index.js';

const canLab = isRoot && ['wireguard-go', 'wg', 'wg-quick', 'nft', 'ip', 'ping', 'bird', 'birdc'].every(has);
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

describe.skipIf(!canLab)('the lab for real: ministry core + DR center, 1 province with its DR node x 2 prefectures x 1 county (root with wireguard-go, wireguard-tools, nftables, iproute2, bird2; skipped otherwise)', () => {
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
  const entry = (id: string) => journal.nodes.find((n) => n.id === id)!;
  /** The routes the daemon gave a node's kernel: prefix -> interface. */
  const birdRoutes = (id: string): Map<string, string> =>
    new Map(execFileSync('ip', ['-n', entry(id).ns, 'route', 'show', 'proto', 'bird']).toString().trim().split('\n').filter(Boolean).map((l) => [l.split(' ')[0]!, /dev (\S+)/.exec(l)![1]!]));
  /** A hub's point-to-point interface to one spoke, and a node's uplink. */
  const linkIface = (hub: string, spoke: string) => `${journal.tag}${entry(hub).idx}d${entry(spoke).idx}`;
  const uplink = (id: string, which: 'u1' | 'u2') => `${journal.tag}${entry(id).idx}${which}`;
  /** Poll (bounded) until a node's primary line carries the routes again, on both ends: the node reaches its hub's network over it, the hub the node's block. */
  const primaryRoutesBack = async (node: string, hubId = '000000'): Promise<boolean> => {
    for (let i = 0; i < 60; i++) {
      if (birdRoutes(node).get(plan.nodes.get(hubId)!.network) === uplink(node, 'u1') && birdRoutes(hubId).get(plan.nodes.get(node)!.aggregate) === linkIface(hubId, node)) return true;
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
    // The DR node runs the interfaces the render gives it: its two uplinks, one point-to-point link per prefecture, and its province hub.
    const dr = journal.nodes[3]!;
    expect(journal.processes.filter((p) => p.what === 'wireguard-go' && p.ns === dr.ns).map((p) => p.name.slice(journal.tag.length)).sort()).toEqual([`${dr.idx}d4`, `${dr.idx}d5`, `${dr.idx}s`, `${dr.idx}u1`, `${dr.idx}u2`]);
    // Every router runs its routing daemon; county platforms run none.
    expect(journal.processes.filter((p) => p.what === 'bird').map((p) => p.name).sort()).toEqual(ids().slice(0, 6).sort());
    // Within seconds each router has its neighbours and the others' blocks: the ministry routes each prefecture through its province hub.
    let routed = false;
    for (let i = 0; i < 60 && !routed; i++) {
      routed = birdRoutes('000000').get(plan.nodes.get(f1!)!.aggregate) === linkIface('000000', p1!) && birdRoutes(f2!).get(plan.nodes.get('000000')!.network) === uplink(f2!, 'u1');
      if (!routed) await new Promise((r) => setTimeout(r, 500));
    }
    expect(routed).toBe(true);
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
    const [p1, d1, f1] = ids().slice(2);
    const cut = await runCli(['--state', state, 'wan', 'cut', '--site', p1!]);
    expect(cut.stdout).toBe(`cut the primary line between ${p1} and 000000\n`);
    const seconds = await timeToReach({ stateDir: state }, plan, f1!, '000000', 30_000);
    expect(seconds).toBeDefined();
    // The ministry reaches the province over its DR node and their dedicated link, the cheapest way left.
    expect(birdRoutes('000000').get(plan.nodes.get(p1!)!.aggregate)).toBe(linkIface('000000', d1!));
    const result = await check(1);
    expect(result.links.find((l) => l.spoke === p1 && l.kind === 'primary')!.up).toBe(false);
    const restore = await runCli(['--state', state, 'wan', 'cut', '--site', p1!, '--restore']);
    expect(restore.stdout).toBe(`restored the primary line between ${p1} and 000000\n`);
    expect(await primaryRoutesBack(p1!)).toBe(true);
  });

  it('GIVEN a prefecture whose province-hub line is cut THEN its traffic, and its county\'s, goes over the province DR node, the matrix still holds, and the line comes back', async () => {
    const [p1, d1, f1, , c1] = ids().slice(2);
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
    // The DR node's link to the province hub carried what the prefecture exchanges with its province; the ministry reaches the prefecture through the DR node.
    expect(siteBytes()).toBeGreaterThan(before);
    expect(birdRoutes('000000').get(plan.nodes.get(f1!)!.aggregate)).toBe(linkIface('000000', d1!));
    const restore = await runCli(['--state', state, 'wan', 'cut', '--site', f1!, '--restore']);
    expect(restore.stdout).toBe(`restored the primary line between ${f1} and ${p1}\n`);
    expect(await primaryRoutesBack(f1!, p1!)).toBe(true);
  });

  it('GIVEN the province hub killed whole (`wan kill`) THEN its prefectures reach the ministry through the province DR node, the ministry routes them there, denied paths stay denied, and all comes back when the hub returns', async () => {
    const [p1, d1, f1, f2] = ids().slice(2);
    const agg = (id: string) => plan.nodes.get(id)!.aggregate;
    const kill = await runCli(['--state', state, 'wan', 'kill', '--site', p1!]);
    expect(kill.stderr).toBe('');
    expect(kill.stdout).toMatch(new RegExp(`^killed node ${p1}: \\d+ processes\\n$`));
    expect(await timeToReach({ stateDir: state }, plan, f1!, '000000', 30_000)).toBeDefined();
    // The ministry learns the prefectures' blocks from the DR node; the hub's own block is gone with it.
    for (const f of [f1!, f2!]) expect(birdRoutes('000000').get(agg(f))).toBe(linkIface('000000', d1!));
    // The hub's own block goes once its neighbours have said it is gone (each withdraws what it learned from it).
    let withdrawn = false;
    for (let i = 0; i < 60 && !withdrawn; i++) {
      withdrawn = !birdRoutes('000000').has(agg(p1!));
      if (!withdrawn) await new Promise((res) => setTimeout(res, 500));
    }
    expect(withdrawn).toBe(true);
    const r = await runCli(['--state', state, 'wan', 'check', '--json']);
    expect(r.code).toBe(3);
    const result = JSON.parse(r.stdout) as CheckResult;
    const involvesHub = (p: { from: string; to: string }) => p.from === p1 || p.to === p1;
    expect(result.pairs.filter((p) => !involvesHub(p) && !p.ok).map((p) => `${p.from}->${p.to} ${p.service}: policy ${p.expected}, observed ${p.observed}`)).toEqual([]);
    expect(result.pairs.filter((p) => !involvesHub(p) && p.expected === 'deny').length).toBeGreaterThan(50);
    expect(result.pairs.filter((p) => involvesHub(p) && p.observed === 'open')).toEqual([]);
    expect(result.links.filter((l) => !l.up).map((l) => `${l.kind}:${l.hub}>${l.spoke}`).sort()).toEqual(
      [`dr:${p1}>${d1}`, `primary:000000>${p1}`, `primary:${p1}>${f1}`, `primary:${p1}>${f2}`, `secondary:dr-000000>${p1}`].sort(),
    );
    const again = await runCli(['--state', state, 'wan', 'kill', '--site', p1!]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`jinbao: node ${p1} of lab ${journal.tag} is already killed; bring it back with: jinbao wan kill --site ${p1} --restore\n`);
    const restore = await runCli(['--state', state, 'wan', 'kill', '--site', p1!, '--restore']);
    expect(restore.stdout).toBe(`restored node ${p1}\n`);
    journal = readJournal(state)!;
    expect(await primaryRoutesBack(f1!, p1!)).toBe(true);
    expect(await primaryRoutesBack(p1!)).toBe(true);
    let back = false;
    for (let i = 0; i < 60 && !back; i++) {
      back = birdRoutes('000000').get(agg(f1!)) === linkIface('000000', p1!);
      if (!back) await new Promise((res) => setTimeout(res, 500));
    }
    expect(back).toBe(true);
    await check();
  }, 180_000);

  it('GIVEN a prefecture whose daemon announces part of another branch\'s prefix and of the ministry\'s THEN its neighbours reject and count them, no other router ever holds them, and traffic keeps its paths', async () => {
    const [p1, d1, f1, f2] = ids().slice(2);
    const net = (id: string) => plan.nodes.get(id)!.network;
    // More specific than the real prefix, so nothing but the filter stands between it and the routing tables.
    const half = (id: string) => `${net(id).split('/')[0]}/${Number(net(id).split('/')[1]) + 1}`;
    const socket = (id: string) => join(state, 'wan-lab', 'bird', `${entry(id).idx}.ctl`);
    const sessions = (id: string) => parseSessions(execFileSync('birdc', ['-s', socket(id), 'show', 'protocols', 'all']).toString(), () => undefined);
    const filtered = (id: string) => sessions(id).filtered;
    const conf = join(state, 'wan-lab', 'render', f1!, 'bird.conf');
    const wrong = join(state, 'wan-lab', 'render', f1!, 'bird-wrong.conf');
    const own = 'protocol static own {\n\tipv4;\n';
    expect(readFileSync(conf, 'utf8')).toContain(own);
    writeFileSync(wrong, readFileSync(conf, 'utf8').replace(own, `${own}\troute ${half(f2!)} blackhole;\n\troute ${half('000000')} blackhole;\n`));
    expect(filtered(p1!)).toBe(0);
    const routesBefore = sessions('000000').routes;
    execFileSync('birdc', ['-s', socket(f1!), 'configure', `"${wrong}"`]);
    let counted = false;
    for (let i = 0; i < 60 && !counted; i++) {
      counted = filtered(p1!) === 2 && filtered(d1!) === 2;
      if (!counted) await new Promise((res) => setTimeout(res, 500));
    }
    expect(counted).toBe(true);
    expect(readFileSync(join(state, 'wan-lab', 'bird', `${p1}.log`), 'utf8')).toContain(`wrong announcement: ${half(f2!)} from ${f1}`);
    expect(readFileSync(join(state, 'wan-lab', 'bird', `${d1}.log`), 'utf8')).toContain(`wrong announcement: ${half('000000')} from ${f1}`);
    // Rejected where they enter, they go no further: the ministry and the other prefecture never see them.
    expect(filtered('000000')).toBe(0);
    expect(filtered(f2!)).toBe(0);
    expect(sessions('000000').routes).toBe(routesBefore);
    // The prefix stays where its own router is: the ministry still reaches the other prefecture through the province hub.
    expect(birdRoutes('000000').get(net(f2!))).toBe(linkIface('000000', p1!));
    expect(birdRoutes('000000').has(half(f2!))).toBe(false);
    expect(birdRoutes(p1!).get(net('000000'))).toBe(uplink(p1!, 'u1'));
    expect(birdRoutes(p1!).has(half('000000'))).toBe(false);
    execFileSync('birdc', ['-s', socket(f1!), 'configure', `"${conf}"`]);
    let cleared = false;
    for (let i = 0; i < 60 && !cleared; i++) {
      cleared = filtered(p1!) === 0 && filtered(d1!) === 0;
      if (!cleared) await new Promise((res) => setTimeout(res, 500));
    }
    expect(cleared).toBe(true);
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
    // Every link of the rotated hub re-handshakes and its BGP sessions re-form one by one: give the
    // prefectures' routes the same bounded time to settle before the matrix is judged.
    for (let i = 0; i < 15; i++) {
      const settled = JSON.parse((await runCli(['--state', state, 'wan', 'check', '--json'])).stdout) as CheckResult;
      if (settled.pairs.every((p) => p.ok)) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    await check();
  });

  it('GIVEN a failover in progress (a line just cut, a province hub just killed) WHEN `wan down` runs THEN no namespace, interface socket or process of the lab is left', async () => {
    const [p1, , f1] = ids().slice(2);
    await runCli(['--state', state, 'wan', 'cut', '--site', f1!]);
    await runCli(['--state', state, 'wan', 'kill', '--site', p1!]);
    const running = readJournal(state)!.processes.length;
    const r = await runCli(['--state', state, 'wan', 'down']);
    expect(r.code).toBe(0);
    // Every recorded process: wireguard-go per interface and a routing daemon per router.
    const stopped = /^lab (\w+) removed: (\d+) processes stopped, (\d+) namespaces deleted\n$/.exec(r.stdout);
    expect(stopped?.slice(1)).toEqual([journal.tag, expect.any(String), String(journal.namespaces.length)]);
    expect(Number(stopped![2])).toBeGreaterThanOrEqual(running);
    expect(namespaces()).not.toContain(journal.tag);
    for (const p of journal.processes) {
      expect(alive(p.pid!)).toBe(false);
      expect(existsSync(`/var/run/wireguard/${p.name}.sock`)).toBe(false);
    }
    expect(readJournal(state)).toBeUndefined();
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(join(state, 'wan-lab'));
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

  it('GIVEN a province without a DR node WHEN its hub is killed THEN its prefecture is cut off until the hub returns, and the ministry is untouched', async () => {
    const alone = join(dir, 'alone');
    journals.push(alone);
    // The same province, brought up without its DR node: what every province without one is.
    const ids = labNodes(plan, { provinces: 1, prefectures: 1 }).filter((id) => !id.startsWith('dr-') || id === 'dr-000000');
    const [, , p1, f1] = ids;
    expect(plan.nodes.get(p1!)!.role).toBe('province');
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    await labUp({ stateDir: alone }, plan, ids, keys);
    const env = { stateDir: alone };
    expect(await timeToReach(env, plan, f1!, '000000', 30_000)).toBeDefined();
    await labKill(env, plan, p1!);
    expect(await timeToReach(env, plan, f1!, '000000', 8_000)).toBeUndefined();
    expect(await timeToReach(env, plan, 'dr-000000', '000000', 8_000)).toBeDefined();
    await labKill(env, plan, p1!, true);
    expect(await timeToReach(env, plan, f1!, '000000', 30_000)).toBeDefined();
    await labDown(env);
  }, 120_000);

  /** What of lab `tag` is left on the machine, found independently of the code under test. */
  const leftovers = (tag: string, state: string): string[] => [
    ...namespaces().split('\n').filter((l) => l.startsWith(`${tag}-`)).map((l) => `namespace ${l.split(' ')[0]}`),
    ...execFileSync('ip', ['-o', 'link', 'show']).toString().split('\n').filter((l) => l.includes(tag)).map((l) => `link ${l}`),
    ...readdirSync('/var/run/wireguard').filter((f) => f.startsWith(tag)).map((f) => `socket ${f}`),
    ...readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return argv.some((a) => a.startsWith(tag) || a.includes(join(state, 'wan-lab'))) ? [`process ${pid} ${argv.join(' ')}`] : [];
      } catch {
        return [];
      }
    }),
  ];

  it.each(['wireguard-go', 'bird'] as const)('GIVEN the province hub\'s %s killed while the lab comes up THEN the bring-up fails naming the node and the process, and nothing of the lab is left, also for `wan down`', async (what) => {
    const state = join(dir, `killed-${what}`);
    journals.push(state);
    const ids = labNodes(plan, { provinces: 1, prefectures: 1 });
    const p1 = ids[2]!;
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    let victim: number | undefined;
    // The hub's own namespace (`<tag>-<id>`), not its DR node's (`<tag>-dr-<id>`).
    const hubNamespace = new RegExp(`^jb\\w+-${p1}$`);
    const runner: Runner = {
      run: systemRunner.run,
      // Its first such process, SIGKILLed as soon as it is started, as a crash would.
      start: (cmd, args, opts) => {
        const pid = systemRunner.start(cmd, args, opts);
        if (victim === undefined && args.includes(what) && args.some((a) => hubNamespace.test(a))) {
          victim = pid;
          process.kill(pid, 'SIGKILL');
        }
        return pid;
      },
    };
    let tag = '';
    const failed = await labUp({ stateDir: state, runner, log: (l) => (tag ||= /lab (jb\w+)/.exec(l)?.[1] ?? '') }, plan, ids, keys).then(
      () => undefined,
      (err: Error) => err,
    );
    const process_ = what === 'bird' ? 'routing daemon \\(bird' : 'wireguard-go \\(interface jb\\w+';
    expect(failed?.message).toMatch(new RegExp(`^node ${p1}: its ${process_}, pid ${victim}\\) exited while the lab came up; the lab is torn down, bring it up again with: jinbao wan up --lab$`));
    expect(tag).not.toBe('');
    expect(leftovers(tag, state)).toEqual([]);
    expect(readJournal(state)).toBeUndefined();
    const down = await runCli(['--state', state, 'wan', 'down']);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('no WAN lab recorded');
    expect(leftovers(tag, state)).toEqual([]);
  });

  it('GIVEN a routing daemon that refuses at start a configuration its parser passed THEN the bring-up fails with the daemon\'s own words and nothing of the lab is left', async () => {
    const state = join(dir, 'refused-at-start');
    journals.push(state);
    const ids = labNodes(plan, { provinces: 1, prefectures: 1 });
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    const broken = join(dir, 'broken-bird.conf');
    writeFileSync(broken, 'router id 10.0.0.1;\nprotocol bgp { local as nonsense; neighbor 169.254.0.1 as 4200000001; }\n');
    const runner: Runner = {
      run: systemRunner.run,
      // The last router's daemon gets a configuration it refuses (the parser check ran on the rendered one).
      start: (cmd, args, opts) => systemRunner.start(cmd, args.includes('bird') && args.some((a) => a.endsWith(`-${ids[4]}`)) ? args.map((a) => (a.endsWith(`${ids[4]}/bird.conf`) ? broken : a)) : args, opts),
    };
    let tag = '';
    await expect(labUp({ stateDir: state, runner, log: (l) => (tag ||= /lab (jb\w+)/.exec(l)?.[1] ?? '') }, plan, ids, keys)).rejects.toThrow(
      new RegExp(`^node ${ids[4]}: its routing daemon \\(bird, pid \\d+\\) exited while the lab came up: bird: ${broken.replace(/[/.-]/g, '\\$&')}:2:\\d+ .+; the lab is torn down`),
    );
    expect(leftovers(tag, state)).toEqual([]);
    expect(readJournal(state)).toBeUndefined();
  });

  it('GIVEN a routing daemon that refuses its configuration THEN the bring-up stops with the parser\'s words and nothing of the lab is left', async () => {
    const refusing = join(dir, 'refusing');
    journals.push(refusing);
    const runner: Runner = {
      start: systemRunner.start,
      run: (cmd, args, opts) => (cmd === 'bird' && args[0] === '-p' ? Promise.resolve({ stdout: '', stderr: 'bird: /x/bird.conf:12:3 syntax error, unexpected CF_SYM_UNDEFINED', code: 1 }) : systemRunner.run(cmd, args, opts)),
    };
    const ids = labNodes(plan, { provinces: 1, prefectures: 1 });
    const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
    let tag = '';
    await expect(labUp({ stateDir: refusing, runner, log: (l) => (tag ||= /lab (jb\w+)/.exec(l)?.[1] ?? '') }, plan, ids, keys)).rejects.toThrow(
      new RegExp(`^node (000000|dr-000000): the routing daemon refuses its configuration ${refusing.replace(/[/.-]/g, '\\$&')}/wan-lab/render/\\S+/bird\\.conf: bird: /x/bird\\.conf:12:3 syntax error, unexpected CF_SYM_UNDEFINED$`),
    );
    expect(namespaces()).not.toContain(tag);
    expect(execFileSync('ps', ['-eo', 'args']).toString()).not.toContain(refusing);
    expect(readJournal(refusing)).toBeUndefined();
  });
});
