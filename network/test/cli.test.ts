import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalOpsContext } from '../../orchestration/context.js';
import { wanUpStage } from '../../orchestration/up.js';
import { registerWanStateMetrics } from '../operations.js';
import { runCli } from '../../bin/testkit.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { collapsePrefixes, generateKeyPair, saveCheck, smallInputFile } from './cli-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const inventory = smallInputFile(dir);

describe('jinbao wan render', () => {
  it('GIVEN an inventory WHEN `wan render --out` runs THEN every node gets its folder, no private key is written, and the summary counts them', async () => {
    const out = join(dir, 'render');
    const r = await runCli(['--inventory', inventory, '--state', join(dir, 's1'), 'wan', 'render', '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ nodes: 11, hubs: 7, privateKeys: false });
    expect(readdirSync(out).sort()).toEqual(['000000', '110000', '110101', '440000', '440100', '440103', '440104', '440300', '440303', 'dr-000000', 'dr-440000', 'plan.json']);
    expect(readFileSync(join(out, '440000', 'wg-up1.conf'), 'utf8')).not.toContain('PrivateKey');
  });

  it('GIVEN --site and --with-private-keys THEN only that node is written, with its key, mode 0600', async () => {
    const out = join(dir, 'one');
    const r = await runCli(['--inventory', inventory, '--state', join(dir, 's1'), 'wan', 'render', '--site', '440100', '--with-private-keys', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('private keys are in the configs (files mode 0600): keep the folder safe');
    expect(readdirSync(out).sort()).toEqual(['440100', 'plan.json']);
    expect(readFileSync(join(out, '440100', 'wg-up1.conf'), 'utf8')).toMatch(/PrivateKey = [A-Za-z0-9+/]{43}=/);
    expect(statSync(join(out, '440100', 'wg-up1.conf')).mode & 0o777).toBe(0o600);
  });

  it('GIVEN an unknown site THEN exit 2 with what node ids look like, and nothing written', async () => {
    const out = join(dir, 'none');
    const r = await runCli(['--inventory', inventory, '--state', join(dir, 's1'), 'wan', 'render', '--site', '999999', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`jinbao: no WAN node "999999" in ${inventory}; node ids are site codes such as "440100", "dr-<site>" for DR centers, or county codes\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('GIVEN an invalid inventory THEN the command refuses before doing anything', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ apiVersion: 'jinbao/v1', kind: 'Inventory', metadata: { name: 'x' }, sites: [] }));
    const r = await runCli(['--inventory', bad, '--state', join(dir, 's-bad'), 'wan', 'render', '--out', join(dir, 'bad-out')]);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'bad-out'))).toBe(false);
  });

  it('GIVEN overlapping pinned prefixes THEN exit 2 with the IPAM problem and nothing written', async () => {
    const input = JSON.parse(readFileSync(inventory, 'utf8'));
    input.sites[3].addressing = { dc: '10.200.0.0/24' };
    input.sites[4].addressing = { dc: '10.200.0.0/24' };
    const file = join(dir, 'overlap.json');
    writeFileSync(file, JSON.stringify(input));
    const r = await runCli(['--inventory', file, '--state', join(dir, 's-overlap'), 'wan', 'render', '--out', join(dir, 'overlap-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('overlaps 10.200.0.0/24');
    expect(existsSync(join(dir, 'overlap-out'))).toBe(false);
  });
});

describe('jinbao wan keys', () => {
  it('GIVEN a public key from elsewhere WHEN imported THEN `wan keys` shows it held elsewhere; a bad key is refused with exit 2', async () => {
    const state = join(dir, 's-keys');
    const pub = generateKeyPair().publicKey;
    const ok = await runCli(['--inventory', inventory, '--state', state, 'wan', 'import-key', '--site', '440103', '--public-key', pub]);
    expect(ok.code).toBe(0);
    const list = JSON.parse((await runCli(['--inventory', inventory, '--state', state, 'wan', 'keys', '--site', '440103', '--json'])).stdout);
    expect(list.keys).toEqual([{ node: '440103', publicKey: pub, generation: 1, privateKeyHeld: false }]);
    const bad = await runCli(['--inventory', inventory, '--state', state, 'wan', 'import-key', '--site', '440103', '--public-key', 'AAAA']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('jinbao: public key for node 440103: "AAAA" is not a WireGuard key; want 44 characters of base64 encoding 32 bytes (as printed by "wg genkey" / "wg pubkey")\n');
  });

  it('WHEN a node outside any lab is rotated THEN it gets the next generation and the peers must be re-rendered', async () => {
    const state = join(dir, 's-rot');
    const r = await runCli(['--inventory', inventory, '--state', state, 'wan', 'rotate', '--site', '440300']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^node 440300: new key pair \(generation 2\), public key [A-Za-z0-9+/]{43}=\nre-render its peers' configs with: jinbao wan render\n$/);
  });
});

describe('jinbao up stage and metrics', () => {
  it('GIVEN `jinbao up` WHEN the wan stage runs THEN it renders the overlay plan without root and reports the counts', async () => {
    const ctx = new LocalOpsContext({ inventory, stateDir: join(dir, 's-up') });
    const res = await wanUpStage.run(ctx, { fabric: ctx.fabric(), outDir: join(dir, 'up-out'), note: () => {} });
    await ctx.close();
    expect(res.lines[0]).toMatch(/^wan: 11 nodes \(7 hubs\), \d+ peers, \d+ interfaces, \d+ firewall rules, \d+ routing daemons; \d+ files in /);
    expect(existsSync(join(dir, 'up-out', 'wan', 'plan.json'))).toBe(true);
  });

  it('GIVEN a recorded lab check WHEN metrics are collected THEN link state, handshake age, matrix failures and each router\'s daemon state come from it', async () => {
    const state = join(dir, 's-metrics');
    const db = SqliteDatabase.open(state);
    await saveCheck(db, {
      tag: 'jbtest',
      checkedAt: '2026-11-27T00:00:00.000Z',
      pairs: [],
      links: [
        { hub: '000000', spoke: '440000', kind: 'primary', iface: 'x', up: true, latencyMs: 2, handshakeAgeSeconds: 7 },
        { hub: 'dr-000000', spoke: '440000', kind: 'secondary', iface: 'y', up: false },
      ],
      routing: [
        { node: '000000', running: true, neighbours: [{ asn: 4200786433, node: '440000', state: 'Established', iface: 'a' }, { asn: 4200000257, node: 'dr-000000', state: 'Connect', iface: 'b' }], bfd: [{ peer: '169.254.1.1', iface: 'a', state: 'Up' }, { peer: '169.254.1.3', iface: 'b', state: 'Down' }], routes: 9, filtered: 2, failovers: 3 },
        { node: '440000', running: false, neighbours: [], bfd: [], routes: 0, filtered: 0, failovers: 1 },
      ],
      summary: { allowed: 10, denied: 20, failures: 1, linksUp: 1, links: 2 },
    });
    await db.close();
    const ctx = new LocalOpsContext({ inventory, stateDir: state });
    const registry = new Registry();
    registerWanStateMetrics(registry, ctx);
    const text = await registry.metrics();
    await ctx.close();
    expect(text).toContain('jinbao_wan_link_up{hub="000000",spoke="440000",kind="primary"} 1');
    expect(text).toContain('jinbao_wan_link_up{hub="dr-000000",spoke="440000",kind="secondary"} 0');
    expect(text).toContain('jinbao_wan_handshake_age_seconds{hub="000000",spoke="440000",kind="primary"} 7');
    expect(text).toContain('jinbao_wan_node_links_up{node="440000",state="down"} 1');
    expect(text).toContain('jinbao_wan_matrix_failures 1');
    expect(text).toContain('jinbao_wan_router_running{node="000000"} 1');
    expect(text).toContain('jinbao_wan_router_running{node="440000"} 0');
    expect(text).toContain('jinbao_wan_bgp_sessions{node="000000",state="established"} 1');
    expect(text).toContain('jinbao_wan_bgp_sessions{node="000000",state="other"} 1');
    expect(text).toContain('jinbao_wan_bfd_sessions{node="000000",state="up"} 1');
    expect(text).toContain('jinbao_wan_bfd_sessions{node="000000",state="down"} 1');
    expect(text).toContain('jinbao_wan_routes{node="000000"} 9');
    expect(text).toContain('jinbao_wan_routes_rejected{node="000000"} 2');
    expect(text).toContain('jinbao_wan_failover_events{node="000000"} 3');
    expect(text).toContain('jinbao_wan_failover_events{node="440000"} 1');
  });
});

describe('prefix sets', () => {
  it('GIVEN adjacent /24s WHEN collapsed THEN siblings merge and covered prefixes vanish; a gap stays a gap', () => {
    expect(collapsePrefixes(['10.0.1.0/24', '10.0.0.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.2.0/24'])).toEqual(['10.0.0.0/22']);
    expect(collapsePrefixes(['10.0.1.0/24', '10.0.2.0/24'])).toEqual(['10.0.1.0/24', '10.0.2.0/24']);
    expect(collapsePrefixes(['10.0.0.0/16', '10.0.5.0/24', '10.1.0.0/24'])).toEqual(['10.0.0.0/16', '10.1.0.0/24']);
  });
});
