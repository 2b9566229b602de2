import { InputError } from '../../lib/errors.js';
import { must, systemRunner } from '../exec.js';
import { findNode, slicePlan, type WanPlan } from '../topology.js';
import { saveJournal, requireLab, type LabEnv } from './journal.js';
import { nsOf } from './namespaces.js';

/** Failures driven in the lab: a line cut in the carrier. */
const CUT_TABLE = 'jinbao_cuts';

/** Cut (or restore) the underlay line between a node and its primary or secondary hub: the carrier drops their packets. */
export async function labCut(env: LabEnv, plan: WanPlan, site: string, uplink: 'primary' | 'secondary', restore = false): Promise<{ hub: string; spoke: string }> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  const spoke = findNode(slice, site, `lab ${j.tag}`);
  const link = slice.links.find((l) => l.spoke === spoke.id && l.kind === uplink);
  if (!link) throw new InputError(`node ${site} has no ${uplink} uplink in lab ${j.tag}; cut a province's or prefecture's uplink, e.g. --site ${slice.links.find((l) => l.kind === 'secondary')?.spoke ?? '<province>'}`);
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
