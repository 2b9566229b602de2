import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contains, mustParsePrefix, type Prefix } from '../../lib/cidr.js';
import { PREFERENCE_BASE, asnOf, buildPlan, generateKeyPair, renderOriginFilter, renderPlan, sessionName, stripWgQuick, writeRendered, type NodeKeys } from '../index.js';
import { has, isRoot, smallFabric } from './fixture.js';

const realTools = isRoot && ['wireguard-go', 'wg', 'wg-quick', 'nft', 'ip', 'bird'].every(has);
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fabric = smallFabric();
const plan = buildPlan(fabric, fabric.allocate().allocations);
const keys = new Map<string, NodeKeys>([...plan.nodes.keys()].map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
const rendered = renderPlan(plan, { keys });
const filesOf = (id: string) => new Map(rendered.nodes.find((n) => n.node.id === id)!.files.map((f) => [f.name, f.content]));

describe('rendering the overlay', () => {
  it('GIVEN the plan WHEN rendered THEN each node has one wg-quick file per interface (one per router link), its nftables rules, and routers a BIRD configuration', () => {
    expect([...filesOf('000000').keys()].sort()).toEqual(['bird.conf', 'nftables.nft', 'wg-d-110000.conf', 'wg-d-440000.conf', 'wg-d-dr-440000.conf', 'wg-dr.conf']);
    expect([...filesOf('440000').keys()].sort()).toEqual(['bird.conf', 'nftables.nft', 'wg-d-440100.conf', 'wg-d-440300.conf', 'wg-dr.conf', 'wg-up1.conf', 'wg-up2.conf']);
    expect([...filesOf('dr-440000').keys()].sort()).toEqual(['bird.conf', 'nftables.nft', 'wg-d-440100.conf', 'wg-d-440300.conf', 'wg-site.conf', 'wg-up1.conf', 'wg-up2.conf']);
    // A prefecture's county platforms share one interface and run no daemon.
    expect([...filesOf('440100').keys()].sort()).toEqual(['bird.conf', 'nftables.nft', 'wg-down.conf', 'wg-up1.conf', 'wg-up2.conf']);
    expect([...filesOf('440103').keys()].sort()).toEqual(['nftables.nft', 'wg-up1.conf']);
    expect(rendered.summary).toMatchObject({ nodes: 11, hubs: 7, routers: 7 });
    expect(rendered.summary.interfaces).toBe(rendered.nodes.reduce((s, n) => s + n.files.filter((f) => f.name.startsWith('wg-')).length, 0));
  });

  it('THEN no private key is in the output unless asked, and the peer keys are the stored public keys', () => {
    const up1 = filesOf('440100').get('wg-up1.conf')!;
    expect(up1).not.toContain('PrivateKey');
    expect(up1).toContain('PostUp = wg set %i private-key /etc/jinbao/wan/private.key');
    expect(up1).toContain(`PublicKey = ${keys.get('440000')!.publicKey}`);
    for (const k of keys.values()) for (const n of rendered.nodes) for (const f of n.files) expect(f.content).not.toContain(k.privateKey);
  });

  it('THEN a prefecture\'s uplinks carry the ministry and its province but no other prefecture, its hub takes only its block from it, and both ends share a point-to-point link', () => {
    const up1 = filesOf('440100').get('wg-up1.conf')!;
    const allowed = /AllowedIPs = (.*)/.exec(up1)![1]!.split(', ').sort();
    const net = (id: string) => plan.nodes.get(id)!.network;
    expect(allowed.filter((a) => !a.startsWith('169.254.'))).toEqual([net('000000'), net('dr-000000'), net('440000'), net('dr-440000')].sort());
    // BGP and BFD speak between the link's two addresses only: no multicast group to let through.
    expect(allowed.filter((a) => a.startsWith('224.'))).toEqual([]);
    const far = allowed.filter((a) => a.startsWith('169.254.'));
    expect(far).toHaveLength(1);
    const local = new RegExp(`PostUp = ip -4 address add (169\\.254\\.\\d+\\.\\d+)/32 peer ${far[0]!.replace(/\./g, '\\.')} dev %i`).exec(up1)?.[1];
    expect(local).toBeDefined();
    // No static route on a router link: the daemon owns them.
    expect(up1).not.toContain('route replace');
    const hubSide = filesOf('440000').get('wg-d-440100.conf')!;
    expect(hubSide).toContain(`PostUp = ip -4 address add ${far[0]!.replace('/32', '')}/32 peer ${local}/32 dev %i`);
    expect(/AllowedIPs = (.*)/.exec(hubSide)![1]!.split(', ')).toEqual([plan.nodes.get('440100')!.aggregate, `${local}/32`]);
    expect(hubSide).toContain('ListenPort = 51830');
    expect(filesOf('440000').get('wg-d-440300.conf')).toContain('ListenPort = 51831');
    expect(up1).toContain(`Endpoint = ${plan.nodes.get('440000')!.endpoint}:51830`);
  });

  it('THEN county platforms stay on the prefecture\'s shared interface with static routes, both ways', () => {
    const down = filesOf('440100').get('wg-down.conf')!;
    expect(down).toContain(`PostUp = ip -4 route replace ${plan.nodes.get('440103')!.network} dev %i metric 100`);
    const county = filesOf('440103').get('wg-up1.conf')!;
    expect(county).toContain(`PostUp = ip -4 route replace ${plan.nodes.get('440100')!.network} dev %i metric 50`);
    expect(county).toContain(`PostUp = ip -4 route replace ${plan.nodes.get('000000')!.network} dev %i metric 100`);
  });

  it('THEN a hub and its DR center share a dedicated link that carries the overlay: the daemon picks the path, the firewalls judge it', () => {
    const hub = filesOf('440000').get('wg-dr.conf')!;
    expect(hub).toContain('ListenPort = 51823');
    expect(hub).toContain(`Endpoint = ${plan.nodes.get('dr-440000')!.endpoint}:51824`);
    expect(hub).toContain(`AllowedIPs = ${plan.overlay}, 169.254.`);
    const site = filesOf('dr-440000').get('wg-site.conf')!;
    expect(site).toContain('ListenPort = 51824');
    expect(site).toContain(`Endpoint = ${plan.nodes.get('440000')!.endpoint}:51823`);
    // The ministry's link to a province DR node carries the whole overlay too: when the province hub is lost, its prefectures come this way.
    expect(filesOf('000000').get('wg-d-dr-440000.conf')).toContain(`AllowedIPs = ${plan.overlay}, 169.254.`);
  });

  it('THEN every router\'s BIRD configuration runs a BGP session with BFD on each of its links, adds each line\'s cost, and originates its own block only', () => {
    const bird = filesOf('dr-440000').get('bird.conf')!;
    const node = (id: string) => plan.nodes.get(id)!;
    const addr = (id: string) => node(id).address;
    expect(bird).toContain(`router id ${addr('dr-440000')};`);
    expect(bird).toContain('interface "wg-d-440100", "wg-d-440300", "wg-site", "wg-up1", "wg-up2" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };');
    expect(bird).toContain(`local as ${asnOf(addr('dr-440000'))};`);
    expect(bird).toContain('bfd on;');
    const session = (iface: string) => bird.slice(bird.indexOf(`protocol bgp ${sessionName(iface)} from wan {`)).split('\n}')[0]!;
    // The cost of the line is added as a route leaves on it: the far end's preference is the whole path's cost.
    expect(session('wg-up1')).toContain('description "primary line to 000000";');
    expect(session('wg-up1')).toContain(`as ${asnOf(addr('000000'))};`);
    expect(session('wg-up1')).toContain('if proto = "own" then { bgp_med = 11; accept; } if source = RTS_BGP then { bgp_med = bgp_med + 10; accept; }');
    expect(session('wg-up2')).toContain('description "secondary line to dr-000000";');
    expect(session('wg-up2')).toContain('bgp_med = bgp_med + 100;');
    expect(session('wg-site')).toContain('description "pair line to 440000";');
    expect(session('wg-site')).toContain('bgp_med = bgp_med + 15;');
    expect(session('wg-site')).toMatch(/neighbor 169\.254\.\d+\.\d+ as \d+;\n\tsource address 169\.254\.\d+\.\d+;\n\tinterface "wg-site";/);
    expect(bird).toContain(`route ${node('dr-440000').network} blackhole;`);
    expect(bird).not.toContain('"wg-down"');
    expect(bird.match(/protocol bgp /g)).toHaveLength(5);
    const pref = filesOf('440100').get('bird.conf')!;
    expect(pref).toContain(`route ${node('440100').aggregate} blackhole;`);
    expect(pref).toContain(`route ${node('440100').network} blackhole;`);
    // A prefecture is a leaf: it passes on nothing it learned, so it can never carry transit.
    expect(pref.match(/export filter \{ if proto = "own" then \{ bgp_med = \d+; accept; \} reject; \}/g)).toHaveLength(2);
    expect(pref).not.toContain('source = RTS_BGP');
  });

  it('THEN the route filter accepts a route only from the router whose block holds it: a prefecture cannot announce another branch\'s prefixes', () => {
    const bird = filesOf('000000').get('bird.conf')!;
    const node = (id: string) => plan.nodes.get(id)!;
    const line = (id: string) => bird.split('\n').find((l) => l.includes(`bgp_path.last = ${asnOf(node(id).address)} then`))!;
    expect(line('440100')).toContain(`if net ~ [ ${node('440100').aggregate}+, ${node('440100').network}+ ] then accept;`);
    expect(line('440100')).not.toContain(node('440300').aggregate);
    expect(line('440100')).not.toContain(node('000000').network);
    expect(line('440100')).toContain('print "wrong announcement: ", net, " from 440100');
    expect(line('dr-440000')).toContain(`if net ~ [ ${node('dr-440000').network}+ ] then accept;`);
    // Counties run no daemon, so no AS of theirs is accepted; an unknown AS is rejected, and so is a route without a cost.
    expect(bird).not.toContain(`bgp_path.last = ${asnOf(node('440103').address)} `);
    expect(bird).toMatch(/print "wrong announcement: ", net, " from unknown AS ", bgp_path.last;\n\treject;\n}/);
    expect(bird).toContain('if ! defined(bgp_med) then {');
    expect(bird).toContain(`bgp_local_pref = ${PREFERENCE_BASE} - bgp_med;`);
    expect(bird).toContain('ipv4 { import keep filtered on; import filter wan_origin; next hop self; };');
    // Link addresses and the router's own block never reach the kernel; overlay routes leave with the router's address as source.
    expect(bird).toContain(`export filter { if net ~ [ 169.254.0.0/16+ ] then reject; if net ~ [ ${node('000000').aggregate}, ${node('000000').network} ] then reject; krt_prefsrc = ${node('000000').address}; accept; };`);
  });

  it('GIVEN an overlay wider than a /8 whose routers\' addresses share their last 24 bits THEN rendering refuses, naming both routers', () => {
    const routers = [...plan.nodes.values()].filter((n) => n.role !== 'county').slice(0, 2);
    const nodes = new Map(plan.nodes);
    nodes.set(routers[1]!.id, { ...routers[1]!, address: routers[0]!.address.replace(/^10\./, '11.') });
    const [a, b] = routers.map((r) => r.id).sort();
    expect(() => renderOriginFilter({ ...plan, nodes, overlay: '10.0.0.0/7' })).toThrow(`routers ${a} and ${b} would share AS ${asnOf(routers[0]!.address)}`);
  });

  it('THEN the province hub forwards prefecture to prefecture traffic nowhere: no forward rule covers one prefecture as source and another as destination', () => {
    const nft = filesOf('440000').get('nftables.nft')!;
    const net = (id: string) => mustParsePrefix(plan.nodes.get(id)!.network);
    const set = (text: string) => text.replace(/[{}]/g, '').split(',').map((p) => mustParsePrefix(p.trim()));
    const covers = (list: Prefix[], p: Prefix) => list.some((q) => contains(q, p));
    const forward = nft.slice(nft.indexOf('chain wan_fwd'));
    const rules = [...forward.matchAll(/ip saddr ({[^}]+}|\S+) ip daddr ({[^}]+}|\S+) .* accept comment/g)].map((m) => ({ from: set(m[1]!), to: set(m[2]!) }));
    expect(rules.length).toBeGreaterThan(5);
    for (const [a, b] of [['440100', '440300'], ['440300', '440100'], ['440103', '440303']] as const) {
      expect(rules.filter((r) => covers(r.from, net(a)) && covers(r.to, net(b)))).toEqual([]);
    }
    expect(rules.some((r) => covers(r.from, net('440000')) && covers(r.to, net('440100')))).toBe(true);
    expect(forward).toContain('counter drop comment "not allowed by the WAN policy"');
  });

  it('GIVEN --with-private-keys WHEN written THEN the configs hold the private key and are mode 0600 in a 0700 folder', () => {
    const withKeys = renderPlan(plan, { keys, withPrivateKeys: true, only: ['440100'] });
    writeRendered(join(dir, 'secret'), withKeys.nodes, withKeys.summary);
    const file = join(dir, 'secret', '440100', 'wg-up1.conf');
    expect(readFileSync(file, 'utf8')).toContain(`PrivateKey = ${keys.get('440100')!.privateKey}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secret', '440100')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'secret', '440100', 'nftables.nft')).mode & 0o777).toBe(0o644);
  });
});

describe.skipIf(!realTools)('the real tools accept the output (root with wireguard-go, wireguard-tools, nftables, bird2; skipped otherwise)', () => {
  const ns = `jbt${process.pid % 100000}`;
  const iface = `jbt${process.pid % 100000}w`;
  let pid: number | undefined;
  afterAll(() => {
    if (pid) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* not created */
    }
  });

  it('GIVEN a wireguard-go interface in a test namespace WHEN wg-quick strip then wg setconf load a hub config THEN wg shows every peer with its AllowedIPs', async () => {
    const withKeys = renderPlan(plan, { keys, withPrivateKeys: true, only: ['000000'] });
    writeRendered(join(dir, 'real'), withKeys.nodes, withKeys.summary);
    execFileSync('ip', ['netns', 'add', ns]);
    const child = spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', iface], { stdio: 'ignore' });
    pid = child.pid;
    for (let i = 0; i < 250 && !existsSync(`/var/run/wireguard/${iface}.sock`); i++) await new Promise((r) => setTimeout(r, 20));
    const conf = join(dir, 'real', '000000', 'wg-d-dr-440000.conf');
    const stripped = execFileSync('wg-quick', ['strip', conf]).toString();
    const setconf = join(dir, 'real', 'setconf');
    writeFileSync(setconf, stripped, { mode: 0o600 });
    execFileSync('ip', ['netns', 'exec', ns, 'wg', 'setconf', iface, setconf]);
    const dump = execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', iface, 'allowed-ips']).toString();
    expect(dump).toMatch(new RegExp(`^${keys.get('dr-440000')!.publicKey.replace(/[+/]/g, (c) => `\\${c}`)}\t${plan.overlay} 169\\.254\\.\\d+\\.\\d+/32\n$`));
    expect(execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', iface, 'listen-port']).toString().trim()).toBe('51832');
  });

  it('GIVEN every rendered wg-quick file WHEN the lab strips it THEN it gets what `wg-quick strip` gives', () => {
    const withKeys = renderPlan(plan, { keys, withPrivateKeys: true });
    writeRendered(join(dir, 'strip'), withKeys.nodes, withKeys.summary);
    for (const n of withKeys.nodes) {
      for (const f of n.files.filter((x) => x.name.startsWith('wg-'))) {
        // wg-quick keeps comments and blank lines, which `wg setconf` ignores.
        const oracle = execFileSync('wg-quick', ['strip', join(dir, 'strip', n.node.id, f.name)]).toString().split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
        expect(stripWgQuick(f.content)).toBe(oracle.join('\n') + '\n');
      }
    }
  });

  it('WHEN BIRD\'s own parser reads every rendered routing configuration THEN each is accepted; a broken one is refused with its line', () => {
    writeRendered(join(dir, 'bird'), rendered.nodes, rendered.summary);
    const routers = rendered.nodes.filter((n) => n.config.router);
    expect(routers).toHaveLength(7);
    for (const n of routers) execFileSync('bird', ['-p', '-c', join(dir, 'bird', n.node.id, 'bird.conf')]);
    const broken = join(dir, 'bird', 'broken.conf');
    writeFileSync(broken, filesOf('440100').get('bird.conf')!.replace('bfd on;', 'bfd maybe;'));
    expect(() => execFileSync('bird', ['-p', '-c', broken], { stdio: 'pipe' })).toThrow(/broken\.conf:\d+:\d+ syntax error/);
  });

  it('WHEN nft checks every rendered ruleset in the namespace THEN each is valid', () => {
    writeRendered(join(dir, 'all'), rendered.nodes, rendered.summary);
    for (const n of rendered.nodes) execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', join(dir, 'all', n.node.id, 'nftables.nft')]);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', join(dir, 'all', '440000', 'nftables.nft')]);
    expect(execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'ip', 'jinbao_wan', 'wan_fwd']).toString()).toContain('province-operates-own');
  });
});
