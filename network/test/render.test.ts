import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contains, mustParsePrefix, type Prefix } from '../../lib/cidr.js';
import { buildPlan, generateKeyPair, renderPlan, writeRendered, type NodeKeys } from '../index.js';
import { has, isRoot, smallFabric } from './fixture.js';

const realTools = isRoot && ['wireguard-go', 'wg', 'wg-quick', 'nft', 'ip'].every(has);
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-render-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fabric = smallFabric();
const plan = buildPlan(fabric, fabric.allocate().allocations);
const keys = new Map<string, NodeKeys>([...plan.nodes.keys()].map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
const rendered = renderPlan(plan, { keys });
const filesOf = (id: string) => new Map(rendered.nodes.find((n) => n.node.id === id)!.files.map((f) => [f.name, f.content]));

describe('rendering the overlay', () => {
  it('GIVEN the plan WHEN rendered THEN each node has one wg-quick file per interface, its nftables rules, and hubs with backups a failover list', () => {
    expect([...filesOf('000000').keys()].sort()).toEqual(['failover.conf', 'nftables.nft', 'wg-down.conf', 'wg-dr.conf']);
    expect([...filesOf('440000').keys()].sort()).toEqual(['failover.conf', 'nftables.nft', 'wg-down.conf', 'wg-dr.conf', 'wg-up1.conf', 'wg-up2.conf']);
    expect([...filesOf('dr-440000').keys()].sort()).toEqual(['failover.conf', 'nftables.nft', 'wg-down.conf', 'wg-site.conf', 'wg-up1.conf', 'wg-up2.conf']);
    expect([...filesOf('440103').keys()].sort()).toEqual(['nftables.nft', 'wg-up1.conf']);
    expect(rendered.summary).toMatchObject({ nodes: 11, hubs: 7 });
    expect(rendered.summary.interfaces).toBe(rendered.nodes.reduce((s, n) => s + n.files.filter((f) => f.name.startsWith('wg-')).length, 0));
  });

  it('THEN no private key is in the output unless asked, and the peer keys are the stored public keys', () => {
    const up1 = filesOf('440100').get('wg-up1.conf')!;
    expect(up1).not.toContain('PrivateKey');
    expect(up1).toContain('PostUp = wg set %i private-key /etc/jinbao/wan/private.key');
    expect(up1).toContain(`PublicKey = ${keys.get('440000')!.publicKey}`);
    for (const k of keys.values()) for (const n of rendered.nodes) for (const f of n.files) expect(f.content).not.toContain(k.privateKey);
  });

  it('THEN a prefecture\'s AllowedIPs reach the ministry and its province but no other prefecture', () => {
    const up1 = filesOf('440100').get('wg-up1.conf')!;
    const allowed = /AllowedIPs = (.*)/.exec(up1)![1]!.split(', ').sort();
    const net = (id: string) => plan.nodes.get(id)!.network;
    expect(allowed.filter((a) => !a.startsWith('169.254.'))).toEqual([net('000000'), net('dr-000000'), net('440000'), net('dr-440000')].sort());
    // The watched line's far end, probed over a pinned route from this end's link address.
    const far = allowed.filter((a) => a.startsWith('169.254.'));
    expect(far).toHaveLength(1);
    expect(up1).toMatch(new RegExp(`PostUp = ip -4 route replace ${far[0]!.replace(/\./g, '\\.')} dev %i metric 10 src 169\\.254\\.\\d+\\.\\d+`));
    expect(up1).toContain(`PostUp = ip -4 route replace ${net('440000')} dev %i metric 50`);
    expect(filesOf('440100').get('wg-up2.conf')).toContain(`PostUp = ip -4 route replace ${net('000000')} dev %i metric 200`);
  });

  it('THEN a province hub and its DR node are paired: each other\'s network first, the prefectures as backup, and each watches the prefectures\' direct lines', () => {
    const net = (id: string) => plan.nodes.get(id)!.network;
    const agg = (id: string) => plan.nodes.get(id)!.aggregate;
    const hub = filesOf('440000').get('wg-dr.conf')!;
    expect(hub).toContain('ListenPort = 51823');
    expect(hub).toContain(`Endpoint = ${plan.nodes.get('dr-440000')!.endpoint}:51824`);
    expect(hub).toContain(`PostUp = ip -4 route replace ${net('dr-440000')} dev %i metric 50`);
    expect(hub).toContain(`PostUp = ip -4 route replace ${agg('440100')} dev %i metric 200`);
    const site = filesOf('dr-440000').get('wg-site.conf')!;
    expect(site).toContain('ListenPort = 51824');
    expect(site).toContain(`Endpoint = ${plan.nodes.get('440000')!.endpoint}:51823`);
    expect(site).toContain(`PostUp = ip -4 route replace ${net('440000')} dev %i metric 50`);
    expect(site).toContain(`PostUp = ip -4 route replace ${agg('440300')} dev %i metric 200`);
    // What the prefectures send the DR node for the ministry or their province goes to the hub: the ministry accepts their addresses only from there.
    const allowed = /AllowedIPs = (.*)/.exec(site)![1]!.split(', ');
    expect(allowed).toEqual(expect.arrayContaining([net('440000'), agg('440100'), agg('440300'), net('000000'), net('dr-000000')]));
    expect(allowed).not.toContain(net('dr-440000'));
    expect(site).toContain(`PostUp = ip -4 route replace ${net('000000')} dev %i table 200`);
    expect(site).toContain('PostUp = ip -4 rule del iif wg-down lookup 200 priority 1000 2>/dev/null; ip -4 rule add iif wg-down lookup 200 priority 1000');
    expect(site).toContain('PostDown = ip -4 rule del iif wg-down lookup 200 priority 1000');
    expect(site).not.toContain(`route replace ${agg('440100')} dev %i table`);
    for (const id of ['440000', 'dr-440000']) {
      const watched = filesOf(id).get('failover.conf')!.split('\n').filter((l) => l.startsWith('wg-down '));
      expect(watched.map((l) => l.split(' ')[2])).toEqual([`${agg('440100')}@100`, `${agg('440300')}@100`]);
    }
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

describe.skipIf(!realTools)('the real tools accept the output (root with wireguard-go, wireguard-tools, nftables; skipped otherwise)', () => {
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
    const conf = join(dir, 'real', '000000', 'wg-down.conf');
    const stripped = execFileSync('wg-quick', ['strip', conf]).toString();
    const setconf = join(dir, 'real', 'setconf');
    writeFileSync(setconf, stripped, { mode: 0o600 });
    execFileSync('ip', ['netns', 'exec', ns, 'wg', 'setconf', iface, setconf]);
    const dump = execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', iface, 'allowed-ips']).toString();
    expect(dump).toContain(`${keys.get('440000')!.publicKey}\t${plan.nodes.get('440000')!.aggregate}`);
    expect(dump).toContain(`${keys.get('dr-440000')!.publicKey}\t${plan.nodes.get('dr-440000')!.network}`);
    expect(execFileSync('ip', ['netns', 'exec', ns, 'wg', 'show', iface, 'listen-port']).toString().trim()).toBe('51820');
  });

  it('WHEN nft checks every rendered ruleset in the namespace THEN each is valid', () => {
    writeRendered(join(dir, 'all'), rendered.nodes, rendered.summary);
    for (const n of rendered.nodes) execFileSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', join(dir, 'all', n.node.id, 'nftables.nft')]);
    execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', join(dir, 'all', '440000', 'nftables.nft')]);
    expect(execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'ip', 'jinbao_wan', 'wan_fwd']).toString()).toContain('province-operates-own');
  });
});
