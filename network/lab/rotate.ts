import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, systemRunner } from '../exec.js';
import type { NodeKeys } from '../keys.js';
import { renderPlan } from '../render.js';
import { findNode, slicePlan, type WanPlan } from '../topology.js';
import { labDir, labNamer, labPlace, requireLab, type LabEnv } from './journal.js';
import { nsOf } from './namespaces.js';
import { writeRender } from './bring-up.js';
import { daemonDir } from './daemon.js';

/** Key rotation in a running lab. */
/** Put `node`'s new key on its interfaces and swap its public key at every peer: the old peer entry goes only after the new one is in place. */
export async function labRotate(env: LabEnv, plan: WanPlan, node: string, oldPublicKey: string, keys: ReadonlyMap<string, NodeKeys>): Promise<void> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  findNode(slice, node, labPlace(j.tag));
  const index = new Map(j.nodes.map((n) => [n.id, n.idx]));
  const rendered = renderPlan(slice, { keys, withPrivateKeys: true, namer: labNamer(j.tag, index), daemonLogDir: daemonDir(env.stateDir) });
  writeRender(env.stateDir, rendered.nodes);
  const own = rendered.nodes.find((n) => n.node.id === node)!;
  const keyFile = join(labDir(env.stateDir), 'render', node, 'private.key');
  writeFileSync(keyFile, keys.get(node)!.privateKey! + '\n', { mode: 0o600 });
  const newPublic = keys.get(node)!.publicKey;
  // Every peer at once, then the node itself: the window in which its links are down stays short.
  const updates: Promise<unknown>[] = [];
  for (const other of rendered.nodes) {
    for (const iface of other.config.ifaces) {
      const peer = iface.peers.find((p) => p.node === node);
      if (!peer) continue;
      const ns = nsOf(j, other.node.id);
      const args = ['netns', 'exec', ns, 'wg', 'set', iface.name, 'peer', newPublic, 'allowed-ips', peer.allowedIps.join(',')];
      if (peer.endpoint) args.push('endpoint', peer.endpoint);
      if (peer.keepalive) args.push('persistent-keepalive', String(peer.keepalive));
      // Allowed IPs move to the new peer entry; then the old entry (now empty) goes.
      updates.push(must(r, 'ip', args).then(() => must(r, 'ip', ['netns', 'exec', ns, 'wg', 'set', iface.name, 'peer', oldPublicKey, 'remove'])));
    }
  }
  await Promise.all(updates);
  await Promise.all(own.config.ifaces.map((iface) => must(r, 'ip', ['netns', 'exec', nsOf(j, node), 'wg', 'set', iface.name, 'private-key', keyFile])));
}

