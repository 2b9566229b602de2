import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueMessage, inputError } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { systemProcs } from '../procs.js';
import { planConfigs } from '../render.js';
import { must, systemRunner } from '../exec.js';
import { findNode, slicePlan, type WanPlan } from '../topology.js';
import { labNamer, labPlace, saveJournal, requireLab, SOCKET_DIR, type LabEnv } from './journal.js';
import { startNode } from './bring-up.js';
import { controlSocket, waitDaemon } from './daemon.js';
import { nsOf, waitFor } from './namespaces.js';

/** Failures driven in the lab: a line cut in the carrier, a whole node killed. */
const CUT_TABLE = 'jinbao_cuts';

/** Cut (or restore) the underlay line between a node and its primary or secondary hub: the carrier drops their packets. */
export async function labCut(env: LabEnv, plan: WanPlan, site: string, uplink: 'primary' | 'secondary', restore = false): Promise<{ hub: string; spoke: string }> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  const spoke = findNode(slice, site, labPlace(j.tag));
  const link = slice.links.find((l) => l.spoke === spoke.id && l.kind === uplink);
  if (!link) throw inputError(NETWORK_MESSAGES, 'lab.noUplink', { site, uplink: catalogueMessage(NETWORK_MESSAGES, `lab.uplink.${uplink}`).localized, tag: j.tag, example: slice.links.find((l) => l.kind === 'secondary')?.spoke ?? '<province>' });
  const hub = slice.nodes.get(link.hub)!;
  const label = `${spoke.id}:${uplink}`;
  if (!restore) {
    await must(r, 'ip', ['netns', 'exec', j.carrier, 'nft', '-f', '-'], { input: `table ip ${CUT_TABLE} {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tip saddr ${spoke.endpoint} ip daddr ${hub.endpoint} drop comment "${label}"\n\t\tip saddr ${hub.endpoint} ip daddr ${spoke.endpoint} drop comment "${label}"\n\t}\n}\n` });
    if (!j.cuts.includes(label)) j.cuts.push(label);
  } else {
    const listing = await r.run('ip', ['netns', 'exec', j.carrier, 'nft', '-a', 'list', 'chain', 'ip', CUT_TABLE, 'forward']);
    for (const line of listing.stdout.split('\n')) {
      const m = new RegExp(`comment "${label}" # handle (\\d+)`).exec(line);
      if (m) await must(r, 'ip', ['netns', 'exec', j.carrier, 'nft', 'delete', 'rule', 'ip', CUT_TABLE, 'forward', 'handle', m[1]!]);
    }
    j.cuts = j.cuts.filter((c) => c !== label);
  }
  saveJournal(env.stateDir, j);
  return { hub: hub.id, spoke: spoke.id };
}

/** Poll until `from` reaches `to` by ping (bounded); returns the seconds it took, or undefined when it did not within `limitMs`. */
export async function timeToReach(env: LabEnv, plan: WanPlan, from: string, to: string, limitMs = 20_000): Promise<number | undefined> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const res = await r.run('ip', ['netns', 'exec', nsOf(j, from), 'ping', '-c', '1', '-W', '1', '-q', plan.nodes.get(to)!.address]);
    if (res.code === 0) return (performance.now() - started) / 1000;
    await new Promise((res2) => setTimeout(res2, 100));
  }
  return undefined;
}

/**
 * Stop a whole node (`wan kill`): every process in its namespace is SIGKILLed, as a crash or a power
 * loss would, so its WireGuard interfaces vanish with their wireguard-go processes and its routing
 * daemon stops answering; its neighbours notice by BFD. `restore` starts it again from its rendered
 * files, as a rebooted router would.
 */
export async function labKill(env: LabEnv, plan: WanPlan, site: string, restore = false): Promise<{ node: string; stopped: number }> {
  const r = env.runner ?? systemRunner;
  const procs = env.procs ?? systemProcs;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  const node = findNode(slice, site, labPlace(j.tag));
  const ns = nsOf(j, node.id);
  const killed = j.killed ?? [];
  const config = planConfigs(slice, labNamer(j.tag, new Map(j.nodes.map((n) => [n.id, n.idx])))).get(node.id)!;
  if (restore) {
    if (!killed.includes(node.id)) throw inputError(NETWORK_MESSAGES, 'lab.notKilled', { node: node.id, tag: j.tag });
    await startNode(r, env.stateDir, j, { node, config }, { procs });
    if (config.router) await waitDaemon(env.stateDir, j, node.id);
    j.killed = killed.filter((k) => k !== node.id);
    saveJournal(env.stateDir, j);
    return { node: node.id, stopped: 0 };
  }
  if (killed.includes(node.id)) throw inputError(NETWORK_MESSAGES, 'lab.alreadyKilled', { node: node.id, tag: j.tag });
  const inode = procs.netnsInode(ns);
  const victims = inode === undefined ? [] : procs.list().filter((p) => p.netns === inode && !p.zombie && p.pid !== process.pid);
  for (const p of victims) {
    try {
      procs.signal(p.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await waitFor(() => victims.every((v) => { const now = procs.get(v.pid); return now === undefined || now.zombie || now.start !== v.start; }), 5000, () => catalogueMessage(NETWORK_MESSAGES, 'labDaemon.waiting.exitAfterKill', { id: node.id }).localized);
  // SIGKILL leaves wireguard-go's control sockets and the daemon's behind; a restart must not take them for its own.
  for (const iface of config.ifaces) rmSync(join(SOCKET_DIR, `${iface.name}.sock`), { force: true });
  rmSync(controlSocket(env.stateDir, j, node.id), { force: true });
  j.processes = j.processes.filter((p) => p.ns !== ns);
  j.killed = [...killed, node.id];
  saveJournal(env.stateDir, j);
  return { node: node.id, stopped: victims.length };
}
