/**
 * WAN overlay benchmark: whole-nation render, lab bring-up for the ministry's two hubs and 4
 * provinces (with their DR nodes) x 3 prefectures x 1 county, a province's uplink failover, a
 * prefecture's failover to the province DR node, and overlay throughput against the raw veth
 * underlay (iperf3, 3 s each), all in one run.
 * Run as root: npx tsx bench/wan.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFabric } from '../fabric/index.js';
import { buildPlan, generateKeyPair, labCut, labDown, labNodes, labUp, readJournal, renderPlan, systemRunner, timeToReach, writeRendered, type NodeKeys } from '../network/index.js';

const RENDER_TARGET_SECONDS = 5;
/** The failover watch's own detection budget: two missed probes of up to 1 s each, 0.5 s apart. */
const DETECTION_BUDGET_SECONDS = 3;
const IPERF_SECONDS = 3;

const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-wan-'));
const summary: Record<string, unknown> = {};
const say = (line: string) => console.log(line);

async function iperf(serverNs: string, clientNs: string, address: string): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', address], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const res = await systemRunner.run('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', address, '-t', String(IPERF_SECONDS), '-J'], { timeoutMs: (IPERF_SECONDS + 10) * 1000 });
    if (res.code !== 0) throw new Error(`iperf3 to ${address} failed: ${res.stderr || res.stdout.slice(0, 300)}`);
    const j = JSON.parse(res.stdout) as { end: { sum_received: { bits_per_second: number } } };
    return j.end.sum_received.bits_per_second / 1e6;
  } finally {
    if (server.pid && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
  }
}

async function main(): Promise<void> {
  const fabric = loadFabric();
  const allocations = fabric.allocate().allocations;

  // 1. Whole nation: plan, keys, render and write (no private keys).
  let t = performance.now();
  const national = buildPlan(fabric, allocations);
  const keys = new Map<string, NodeKeys>([...national.nodes.keys()].map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
  const keySeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const rendered = renderPlan(national, { keys });
  const renderOnlySeconds = (performance.now() - t) / 1000;
  const files = writeRendered(join(dir, 'nation'), rendered.nodes, rendered.summary);
  const renderSeconds = (performance.now() - t) / 1000;
  say(`nation: ${rendered.summary.nodes} nodes, ${rendered.summary.peers} peers, ${rendered.summary.firewallRules} firewall rules, ${files} files`);
  say(`  plan + ${keys.size} keys: ${keySeconds.toFixed(2)} s; render ${renderOnlySeconds.toFixed(2)} s + write = ${renderSeconds.toFixed(2)} s (target ${RENDER_TARGET_SECONDS} s, ratio ${(renderSeconds / RENDER_TARGET_SECONDS).toFixed(2)})`);
  Object.assign(summary, { nationNodes: rendered.summary.nodes, nationPeers: rendered.summary.peers, keySeconds, renderOnlySeconds, renderSeconds, renderVsTarget: renderSeconds / RENDER_TARGET_SECONDS });

  if (process.getuid?.() !== 0) {
    say('not root: the lab figures (bring-up, failover, throughput) need root; run as root for them');
    return;
  }

  // 2. Lab bring-up: the ministry core and DR center, 4 provinces (and their DR nodes) x 3 prefectures x 1 county.
  const labPlan = national;
  const ids = labNodes(labPlan, { provinces: 4, prefectures: 3, counties: 1 });
  const roles = (role: string) => ids.filter((id) => labPlan.nodes.get(id)!.role === role).length;
  const env = { stateDir: join(dir, 'state') };
  try {
    const up = await labUp(env, labPlan, ids, keys);
    const processes = up.journal.processes.length;
    say(`lab: ${ids.length} nodes (1 + 1 + ${roles('province')} provinces + ${roles('province-dr')} province DR nodes + ${roles('prefecture')} prefectures + ${roles('county')} counties), ${processes} processes up in ${up.seconds.toFixed(1)} s (${((up.seconds / ids.length) * 1000).toFixed(0)} ms per node)`);
    Object.assign(summary, { labNodes: ids.length, labProvinceDrNodes: roles('province-dr'), labCounties: roles('county'), labProcesses: processes, bringUpSeconds: up.seconds, bringUpPerNodeMs: (up.seconds / ids.length) * 1000 });

    // 3. Failover: cut the first province's primary line; its first prefecture pings the core until it answers.
    const province = ids[2]!;
    const prefecture = ids.find((id) => labPlan.links.some((l) => l.hub === province && l.spoke === id && l.kind === 'primary' && labPlan.nodes.get(id)!.role === 'prefecture'))!;
    const before = await timeToReach(env, labPlan, prefecture, '000000', 30_000);
    await labCut(env, labPlan, province, 'primary');
    const failover = await timeToReach(env, labPlan, prefecture, '000000', 60_000);
    await labCut(env, labPlan, province, 'primary', true);
    say(`failover: ${prefecture} → ministry core after cutting ${province}'s primary line: ${failover === undefined ? 'NOT within 60 s' : `${failover.toFixed(2)} s`} (watch detection budget ${DETECTION_BUDGET_SECONDS} s, ratio ${failover === undefined ? '—' : (failover / DETECTION_BUDGET_SECONDS).toFixed(2)}); before the cut ${before?.toFixed(2)} s`);
    Object.assign(summary, { failoverSeconds: failover ?? null, failoverVsDetectionBudget: failover === undefined ? null : failover / DETECTION_BUDGET_SECONDS });

    // 3b. The prefecture's own failover: cut its province-hub line; it (and its county) reach the core over the province DR node.
    if (labPlan.nodes.has(`dr-${province}`)) {
      const county = ids.find((id) => labPlan.links.some((l) => l.hub === prefecture && l.spoke === id));
      await labCut(env, labPlan, prefecture, 'primary');
      const drFailover = await timeToReach(env, labPlan, prefecture, '000000', 60_000);
      const countyReach = county ? await timeToReach(env, labPlan, county, '000000', 60_000) : undefined;
      await labCut(env, labPlan, prefecture, 'primary', true);
      say(`failover to the province DR node: ${prefecture} → ministry core after cutting its line to ${province}: ${drFailover === undefined ? 'NOT within 60 s' : `${drFailover.toFixed(2)} s`} (ratio to the budget ${drFailover === undefined ? '—' : (drFailover / DETECTION_BUDGET_SECONDS).toFixed(2)}, to the province failover ${drFailover === undefined || failover === undefined ? '—' : (drFailover / failover).toFixed(2)}); its county ${county ?? '—'} then ${countyReach === undefined ? 'NOT reached' : `${countyReach.toFixed(2)} s`}`);
      Object.assign(summary, { drFailoverSeconds: drFailover ?? null, drFailoverVsDetectionBudget: drFailover === undefined ? null : drFailover / DETECTION_BUDGET_SECONDS, countyAfterDrFailoverSeconds: countyReach ?? null });
    }

    // 4. Throughput between the core and the first province hub: underlay (veth via the carrier) then overlay (wireguard-go).
    const j = readJournal(env.stateDir)!;
    const ns = (id: string) => j.nodes.find((n) => n.id === id)!.ns;
    // iperf3's port is no service of the policy: open it on the core for this measurement only.
    await systemRunner.run('ip', ['netns', 'exec', ns('000000'), 'nft', 'insert', 'rule', 'ip', 'jinbao_wan', 'wan_in', 'tcp', 'dport', '5201', 'accept']);
    const underlay = await iperf(ns('000000'), ns(province), labPlan.nodes.get('000000')!.endpoint!);
    const overlay = await iperf(ns('000000'), ns(province), labPlan.nodes.get('000000')!.address);
    say(`throughput ${province} → core, ${IPERF_SECONDS} s each: underlay ${underlay.toFixed(0)} Mbit/s, overlay ${overlay.toFixed(0)} Mbit/s (ratio ${(overlay / underlay).toFixed(3)})`);
    Object.assign(summary, { underlayMbps: underlay, overlayMbps: overlay, overlayVsUnderlay: overlay / underlay });
  } finally {
    const d = await labDown(env);
    say(`lab down: ${d.processes} processes stopped, ${d.namespaces} namespaces deleted`);
  }
}

main()
  .then(() => console.log(JSON.stringify({ bench: 'wan', ...summary })))
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
