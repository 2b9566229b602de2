/**
 * WAN overlay benchmark, all in one run:
 * - whole-nation render;
 * - lab bring-up time (until the routing has converged), its phases and the load average before and
 *   after, against node count: 8 and 18 nodes, a whole province (130000: its DR node and all 11
 *   prefectures with a county each, 26 nodes), and 34 (the ministry's two hubs and 4 provinces with
 *   their DR nodes x 3 prefectures x 1 county) RUNS times; the lab's own CPU once up;
 * - on the 34-node lab, RUNS times each: a province's primary line cut (BFD + BGP), a prefecture's
 *   line to its province hub cut (over the province DR node), a province hub killed whole (its
 *   prefectures over the DR node) and its failback when it returns;
 * - overlay against underlay throughput (iperf3) at the WireGuard default MTU and over a jumbo-frame
 *   underlay, with the CPU wireguard-go spends per megabyte.
 * Outages are measured by a ping every 20 ms from the prefecture to the ministry core: the longest
 * gap between two answers around the fault. Every figure is the median of RUNS runs.
 * Run as root: npx tsx bench/wan.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFabric } from '../fabric/index.js';
import { BGP_TIMERS, buildPlan, generateKeyPair, labCut, labDown, labKill, labNodes, labUp, readJournal, renderPlan, systemRunner, writeRendered, type LabSize, type LabUp, type NodeKeys, type WanPlan } from '../network/index.js';

const RENDER_TARGET_SECONDS = 5;
const RUNS = 3;
const TARGETS = { lineCutSeconds: 1, hubLossSeconds: 3, bringUp34Seconds: 30, throughputRatio: 0.3 } as const;
const IPERF_SECONDS = 3;
/** Why the overlay carries a fraction of the underlay (docs/network.md, Known limits). */
const WHY_SLOW = 'wireguard-go 0.0.20220316 (Debian 12) has no TUN segmentation offloads: each packet costs two system calls and a crypto pass on each end, while the underlay is a veth the kernel forwards';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-wan-'));
const summary: Record<string, unknown> = {};
const say = (line: string) => console.log(line);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (xs: readonly (number | undefined)[]) => xs.map((x) => (x === undefined ? 'none' : x.toFixed(2))).join(', ');

/** The longest gap between two ping answers from `ns` to `target` around `fault` (seconds), or undefined when answers had stopped at `limitS`. */
async function outage(ns: string, target: string, fault: () => Promise<void>, limitS = 30): Promise<number | undefined> {
  const child = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', '-D', '-i', '0.02', '-W', '1', '-w', String(limitS + 2), target], { stdio: ['ignore', 'pipe', 'ignore'] });
  const replies: number[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const l of lines) {
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/.exec(l);
      if (m) replies.push(Number(m[1]));
    }
  });
  try {
    await sleep(500);
    const t0 = Date.now() / 1000;
    await fault();
    const until = Date.now() + limitS * 1000;
    // Done once answers have come back after a gap and kept coming for half a second.
    for (;;) {
      const after = replies.filter((t) => t >= t0 - 0.05);
      const gaps = after.slice(1).map((t, i) => t - after[i]!);
      const worst = Math.max(0, ...gaps);
      const last = after[after.length - 1];
      if (worst > 0.1 && last !== undefined && Date.now() / 1000 - last < 0.2 && after.filter((t) => t > last - 0.5).length >= 10) return worst;
      // No gap worth the name while answers keep coming: the fault cost at most `worst`.
      if (Date.now() > until) return last !== undefined && Date.now() / 1000 - last < 0.5 ? worst : undefined;
      await sleep(100);
    }
  } finally {
    child.kill('SIGTERM');
  }
}

/** The interface the kernel of `ns` routes `prefix` through (the daemon's route), or undefined. */
async function routeDev(ns: string, prefix: string): Promise<string | undefined> {
  const out = await systemRunner.run('ip', ['-n', ns, 'route', 'show', 'exact', prefix]);
  return /dev (\S+)/.exec(out.stdout)?.[1];
}

async function waitRoute(ns: string, prefix: string, dev: string, limitMs = 60_000): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if ((await routeDev(ns, prefix)) === dev) return (performance.now() - t0) / 1000;
    await sleep(100);
  }
  return undefined;
}

async function iperf(serverNs: string, clientNs: string, address: string): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', serverNs, 'iperf3', '-s', '-1', '-B', address], { stdio: 'ignore' });
  try {
    await sleep(500);
    const res = await systemRunner.run('ip', ['netns', 'exec', clientNs, 'iperf3', '-c', address, '-t', String(IPERF_SECONDS), '-J'], { timeoutMs: (IPERF_SECONDS + 10) * 1000 });
    if (res.code !== 0) throw new Error(`iperf3 to ${address} failed: ${res.stderr || res.stdout.slice(0, 300)}`);
    const j = JSON.parse(res.stdout) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
    return j.end.sum_received.bits_per_second / 1e6;
  } finally {
    if (server.pid && server.exitCode === null) process.kill(server.pid, 'SIGTERM');
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

interface BringUp {
  readonly ids: string[];
  readonly nodes: number;
  readonly seconds: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly processes: number;
  readonly phases: LabUp['phases'];
  readonly steps: LabUp['steps'];
}

async function bringUp(plan: WanPlan, keys: ReadonlyMap<string, NodeKeys>, size: LabSize, stateDir: string): Promise<BringUp> {
  const ids = labNodes(plan, size);
  const loadBefore = loadavg()[0]!;
  const up = await labUp({ stateDir }, plan, ids, keys);
  return { ids, nodes: ids.length, seconds: up.seconds, loadBefore, loadAfter: loadavg()[0]!, processes: up.journal.processes.length, phases: up.phases, steps: up.steps };
}

function describeBringUp(b: BringUp, label = ''): string {
  const phases = Object.entries(b.phases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ');
  const steps = Object.entries(b.steps).map(([k, v]) => `${k} ${v.count}x ${((v.seconds / v.count) * 1000).toFixed(0)} ms`).join(', ');
  return `bring-up${label}: ${b.nodes} nodes, ${b.processes} processes, converged in ${b.seconds.toFixed(1)} s (${((b.seconds / b.nodes) * 1000).toFixed(0)} ms per node); load average ${b.loadBefore.toFixed(1)} before, ${b.loadAfter.toFixed(1)} after\n  phases (s): ${phases}\n  per step, mean (nodes start a few at a time): ${steps}`;
}

/** CPU (cores) the lab's own processes use over `ms`, with nothing but its routing protocols running. */
async function labCpu(stateDir: string, ms: number): Promise<number> {
  const pids = readJournal(stateDir)!.processes.map((p) => p.pid!);
  const total = () => pids.reduce((s, p) => { try { return s + cpuSeconds(p); } catch { return s; } }, 0);
  const c0 = total();
  await sleep(ms);
  return (total() - c0) / (ms / 1000);
}

async function main(): Promise<void> {
  const fabric = loadFabric();
  const allocations = fabric.allocate().allocations;

  // 1. Whole nation: plan, keys, render and write (no private keys).
  let t = performance.now();
  const plan = buildPlan(fabric, allocations);
  const keys = new Map<string, NodeKeys>([...plan.nodes.keys()].map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
  const keySeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const rendered = renderPlan(plan, { keys });
  const renderOnlySeconds = (performance.now() - t) / 1000;
  const files = writeRendered(join(dir, 'nation'), rendered.nodes, rendered.summary);
  const renderSeconds = (performance.now() - t) / 1000;
  say(`nation: ${rendered.summary.nodes} nodes, ${rendered.summary.routers} routers, ${rendered.summary.peers} peers, ${rendered.summary.firewallRules} firewall rules, ${files} files`);
  say(`  plan + ${keys.size} keys: ${keySeconds.toFixed(2)} s; render ${renderOnlySeconds.toFixed(2)} s + write = ${renderSeconds.toFixed(2)} s (target ${RENDER_TARGET_SECONDS} s, ratio ${(renderSeconds / RENDER_TARGET_SECONDS).toFixed(2)})`);
  Object.assign(summary, { nationNodes: rendered.summary.nodes, nationRouters: rendered.summary.routers, keySeconds, renderOnlySeconds, renderSeconds, renderVsTarget: renderSeconds / RENDER_TARGET_SECONDS });

  if (process.getuid?.() !== 0) {
    say('not root: the lab figures (bring-up, failover, throughput) need root; run as root for them');
    return;
  }
  const env = { stateDir: join(dir, 'state') };
  try {
    // 2. Bring-up time and load against node count; the 34-node lab RUNS times, the last one stays up.
    const scaling: BringUp[] = [];
    for (const [label, size] of [['', { provinces: 1, prefectures: 2, counties: 1 }], ['', { provinces: 2, prefectures: 3, counties: 1 }], [' (a whole province)', { provinces: 1, prefectures: 11, counties: 1 }]] as const) {
      const r = await bringUp(plan, keys, size, env.stateDir);
      scaling.push(r);
      say(describeBringUp(r, label));
      await labDown(env);
    }
    const big: BringUp[] = [];
    let ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await bringUp(plan, keys, { provinces: 4, prefectures: 3, counties: 1 }, env.stateDir);
      big.push(r);
      ids = r.ids;
      scaling.push(r);
      say(describeBringUp(r, ` ${i + 1} of ${RUNS}`));
      if (i < RUNS - 1) await labDown(env);
    }
    const bigSeconds = big.map((b) => b.seconds);
    say(`bring-up of 34 nodes: median ${median(bigSeconds).toFixed(1)} s of ${fmt(bigSeconds)} at load averages ${big.map((b) => `${b.loadBefore.toFixed(1)}-${b.loadAfter.toFixed(1)}`).join(', ')} (target ${TARGETS.bringUp34Seconds} s, ratio ${(median(bigSeconds) / TARGETS.bringUp34Seconds).toFixed(2)})`);
    const idleCpu = await labCpu(env.stateDir, 10_000);
    say(`the 34-node lab at rest (BFD every 100 ms and BGP keepalives every second on every link): ${idleCpu.toFixed(2)} cores`);
    Object.assign(summary, {
      bringUpScaling: scaling.map(({ ids: _ids, ...b }) => b),
      bringUp34MedianSeconds: median(bigSeconds), bringUp34Runs: bigSeconds, bringUp34VsTarget: median(bigSeconds) / TARGETS.bringUp34Seconds, labIdleCores: idleCpu,
    });

    // The lab's names and the routes that say it has converged.
    const j = readJournal(env.stateDir)!;
    const ns = (id: string) => j.nodes.find((n) => n.id === id)!.ns;
    const idx = (id: string) => j.nodes.find((n) => n.id === id)!.idx;
    const province = ids[2]!;
    const dr = `dr-${province}`;
    const prefecture = ids.find((id) => plan.links.some((l) => l.hub === province && l.spoke === id && l.kind === 'primary' && plan.nodes.get(id)!.role === 'prefecture'))!;
    const core = plan.nodes.get('000000')!;
    const block = plan.nodes.get(prefecture)!.aggregate;
    const viaHub = `${j.tag}${idx('000000')}d${idx(province)}`;
    const converged = await waitRoute(ns('000000'), block, viaHub);
    say(`the ministry routes ${prefecture} through ${province} ${converged?.toFixed(1) ?? 'NOT within 60 s'} s after the bring-up returned (it returns once converged)`);

    // 3. Failures, RUNS times each, from the prefecture's point of view (its pings to the ministry core).
    const lineCut: (number | undefined)[] = [];
    const drCut: (number | undefined)[] = [];
    const hubLoss: (number | undefined)[] = [];
    const failback: (number | undefined)[] = [];
    const failbackGap: number[] = [];
    // Between faults: the route back (polled), then a second. Before the hub is killed, BGP's error
    // forget time as well: the restart delay of a session that failed doubles with each failure
    // within it (the hold-down against flapping), so the failback is measured from a network whose
    // earlier faults are forgotten, as on a network at rest.
    const holdDown = () => sleep(1000);
    const forgotten = () => sleep((BGP_TIMERS.errorForget + 1) * 1000);
    for (let i = 0; i < RUNS; i++) {
      lineCut.push(await outage(ns(prefecture), core.address, () => labCut(env, plan, province, 'primary').then(() => undefined)));
      await labCut(env, plan, province, 'primary', true);
      await waitRoute(ns('000000'), plan.nodes.get(province)!.aggregate, viaHub);
      await holdDown();
      drCut.push(await outage(ns(prefecture), core.address, () => labCut(env, plan, prefecture, 'primary').then(() => undefined)));
      await labCut(env, plan, prefecture, 'primary', true);
      await waitRoute(ns('000000'), block, viaHub);
      await forgotten();
      hubLoss.push(await outage(ns(prefecture), core.address, () => labKill(env, plan, province).then(() => undefined)));
      // The time until the ministry routes the prefecture through the hub again, watched from the
      // moment the restart returns, while the prefecture's pings measure the longest gap (0 when
      // none was lost; the ping watch itself may run on for seconds when no gap shows).
      let back: Promise<number | undefined> = Promise.resolve(undefined);
      let t0 = 0;
      failbackGap.push(await outage(ns(prefecture), core.address, async () => {
        t0 = performance.now();
        await labKill(env, plan, province, true);
        const restarted = performance.now();
        back = waitRoute(ns('000000'), block, viaHub).then((s) => (s === undefined ? undefined : (restarted - t0) / 1000 + s));
      }, 10) ?? NaN);
      failback.push(await back);
      await holdDown();
    }
    const m = (xs: (number | undefined)[]) => median(xs.filter((x): x is number => x !== undefined));
    say(`line cut (${province}'s primary line; BFD 100 ms x 3, then BGP withdraws and sends the next best at once): outage median ${m(lineCut).toFixed(2)} s of ${fmt(lineCut)} (target ${TARGETS.lineCutSeconds} s, ratio ${(m(lineCut) / TARGETS.lineCutSeconds).toFixed(2)})`);
    say(`prefecture line cut (${prefecture} to ${province}, over ${dr}): outage median ${m(drCut).toFixed(2)} s of ${fmt(drCut)} (target ${TARGETS.lineCutSeconds} s, ratio ${(m(drCut) / TARGETS.lineCutSeconds).toFixed(2)})`);
    say(`hub loss (${province} killed; ${prefecture} over ${dr}): outage median ${m(hubLoss).toFixed(2)} s of ${fmt(hubLoss)} (target ${TARGETS.hubLossSeconds} s, ratio ${(m(hubLoss) / TARGETS.hubLossSeconds).toFixed(2)})`);
    say(`failback (${province} restarted until the ministry routes ${prefecture} through it again: its processes' start, the neighbours' restart delay ${BGP_TIMERS.errorWait[0]} s after a failure, BGP's open and updates): median ${m(failback).toFixed(2)} s of ${fmt(failback)}; longest ping gap meanwhile ${fmt(failbackGap)} s`);
    Object.assign(summary, {
      lineCutMedianSeconds: m(lineCut), lineCutRuns: lineCut, lineCutVsTarget: m(lineCut) / TARGETS.lineCutSeconds,
      drLineCutMedianSeconds: m(drCut), drLineCutRuns: drCut,
      hubLossMedianSeconds: m(hubLoss), hubLossRuns: hubLoss, hubLossVsTarget: m(hubLoss) / TARGETS.hubLossSeconds,
      failbackMedianSeconds: m(failback), failbackRuns: failback, failbackLongestGapSeconds: failbackGap,
    });

    // 4. Throughput between the province hub and the core: underlay (veth via the carrier) then overlay (wireguard-go).
    // iperf3's port is no service of the policy: open it on the core for this measurement only.
    await systemRunner.run('ip', ['netns', 'exec', ns('000000'), 'nft', 'insert', 'rule', 'ip', 'jinbao_wan', 'wan_in', 'tcp', 'dport', '5201', 'accept']);
    // The province hub was restarted above: its processes are the journal's current ones.
    const wg = readJournal(env.stateDir)!.processes.filter((p) => p.what === 'wireguard-go' && (p.name === viaHub || p.name === `${j.tag}${idx(province)}u1`)).map((p) => p.pid!);
    const measure = async () => {
      const under: number[] = [];
      const over: number[] = [];
      let cpu = 0;
      let megabytes = 0;
      for (let i = 0; i < RUNS; i++) {
        under.push(await iperf(ns('000000'), ns(province), core.endpoint!));
        const c0 = wg.reduce((s, p) => s + cpuSeconds(p), 0);
        const mbps = await iperf(ns('000000'), ns(province), core.address);
        cpu += wg.reduce((s, p) => s + cpuSeconds(p), 0) - c0;
        megabytes += (mbps * IPERF_SECONDS) / 8;
        over.push(mbps);
      }
      return { under: median(under), over: median(over), ratio: median(over) / median(under), cpuPerMB: cpu / megabytes, runs: { under, over } };
    };
    const standard = await measure();
    say(`throughput ${province} → core, MTU 1500 underlay / 1420 overlay: underlay ${standard.under.toFixed(0)} Mbit/s, overlay ${standard.over.toFixed(0)} Mbit/s (medians of ${RUNS}), ratio ${standard.ratio.toFixed(3)} (target ${TARGETS.throughputRatio}: not met, because ${WHY_SLOW}); wireguard-go spends ${(standard.cpuPerMB * 1000).toFixed(1)} ms of CPU per MB (both ends), load average ${loadavg()[0]!.toFixed(1)}`);
    // The same line with jumbo frames: how much of the cost is per packet.
    const vethOf = (id: string) => `${j.tag}${idx(id)}`;
    for (const id of ['000000', province]) {
      await systemRunner.run('ip', ['-n', j.carrier, 'link', 'set', `${vethOf(id)}c`, 'mtu', '9000']);
      await systemRunner.run('ip', ['-n', ns(id), 'link', 'set', `${vethOf(id)}v`, 'mtu', '9000']);
    }
    await systemRunner.run('ip', ['-n', ns('000000'), 'link', 'set', viaHub, 'mtu', '8920']);
    await systemRunner.run('ip', ['-n', ns(province), 'link', 'set', `${vethOf(province)}u1`, 'mtu', '8920']);
    const jumbo = await measure();
    say(`throughput with a 9000-byte underlay / 8920-byte overlay MTU: underlay ${jumbo.under.toFixed(0)} Mbit/s, overlay ${jumbo.over.toFixed(0)} Mbit/s, ratio ${jumbo.ratio.toFixed(3)}; ${(jumbo.cpuPerMB * 1000).toFixed(1)} ms CPU per MB (overlay x${(jumbo.over / standard.over).toFixed(1)}: the cost is per packet)`);
    Object.assign(summary, {
      underlayMbps: standard.under, overlayMbps: standard.over, overlayVsUnderlay: standard.ratio, wireguardCpuMsPerMB: standard.cpuPerMB * 1000, throughputRuns: standard.runs,
      jumboUnderlayMbps: jumbo.under, jumboOverlayMbps: jumbo.over, jumboOverlayVsUnderlay: jumbo.ratio, jumboWireguardCpuMsPerMB: jumbo.cpuPerMB * 1000,
    });
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
