import { freemem } from 'node:os';
import { catalogueMessage, inputError } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { must } from '../exec.js';
import { drNodeId, type WanNode, type WanPlan } from '../topology.js';
import { MINISTRY_ID } from '../../fabric/index.js';

/** How large a lab is, and which nodes it takes from the plan. */
/** Measured: a wireguard-go process holds about 6-9 MB resident; a node runs up to three. */
const MB_PER_NODE = 32;
/** Two cores bring up and probe at most this many nodes in reasonable time. */
export const LAB_HARD_LIMIT = 64;

export interface LabSize {
  readonly provinces: number;
  readonly prefectures: number;
  /** County spokes per chosen prefecture. @default 0 */
  readonly counties?: number;
}

/**
 * The nodes of a lab, in bring-up order: the ministry's two hubs; then the first `provinces`
 * provinces having `prefectures` prefectures with `counties` county spokes each, every one with its
 * DR node when the plan has one, its first `prefectures` such prefectures and their first `counties`
 * counties. Refused when larger than the machine holds (see `LAB_HARD_LIMIT` and the memory limit).
 */
export function labNodes(plan: WanPlan, size: LabSize, memoryBytes: number = freemem()): string[] {
  const counties = size.counties ?? 0;
  for (const [k, v] of Object.entries({ provinces: size.provinces, prefectures: size.prefectures })) {
    if (!Number.isInteger(v) || v < 1) throw inputError(NETWORK_MESSAGES, 'lab.size.atLeast', { flag: `--${k}`, min: 1, value: v });
  }
  if (!Number.isInteger(counties) || counties < 0) throw inputError(NETWORK_MESSAGES, 'lab.size.atLeast', { flag: '--counties', min: 0, value: counties });
  const children = new Map<string, string[]>();
  for (const l of plan.links) {
    if (l.kind !== 'primary') continue;
    const role = plan.nodes.get(l.spoke)!.role;
    if (role !== 'prefecture' && role !== 'county') continue;
    const list = children.get(l.hub);
    if (list) list.push(l.spoke);
    else children.set(l.hub, [l.spoke]);
  }
  const ofRole = (hub: string, role: WanNode['role']) => (children.get(hub) ?? []).filter((id) => plan.nodes.get(id)!.role === role);
  const prefecturesOf = (province: string) => ofRole(province, 'prefecture').filter((f) => ofRole(f, 'county').length >= counties).slice(0, size.prefectures);
  const eligible = [...plan.nodes.values()].filter((n) => n.role === 'province' && prefecturesOf(n.id).length >= size.prefectures);
  const chosen = eligible.slice(0, size.provinces);
  const ministry = [MINISTRY_ID, ...(plan.nodes.has(drNodeId(MINISTRY_ID)) ? [drNodeId(MINISTRY_ID)] : [])];
  // Provinces the inventory cannot supply are counted without a DR node: the size refusal comes first either way.
  const drs = chosen.filter((p) => plan.nodes.has(drNodeId(p.id))).length;
  const wanted = ministry.length + size.provinces * (1 + size.prefectures * (1 + counties)) + drs;
  const memoryLimit = Math.floor((memoryBytes / 2 / (1024 * 1024)) / MB_PER_NODE);
  const limit = Math.min(LAB_HARD_LIMIT, memoryLimit);
  if (wanted > limit) {
    throw inputError(NETWORK_MESSAGES, 'lab.size.tooLarge', { wanted, limit, hard: LAB_HARD_LIMIT, memory: memoryLimit, mb: MB_PER_NODE });
  }
  if (eligible.length < size.provinces) {
    const what = counties > 0 ? catalogueMessage(NETWORK_MESSAGES, 'lab.size.withCounties', { prefectures: size.prefectures, counties }) : catalogueMessage(NETWORK_MESSAGES, 'lab.size.prefectures', { prefectures: size.prefectures });
    throw inputError(NETWORK_MESSAGES, 'lab.size.tooFewProvinces', { eligible: eligible.length, what: what.localized, provinces: size.provinces });
  }
  const ids = [...ministry];
  // Hubs before their spokes: a spoke's first handshake then finds its hub listening.
  for (const p of chosen) {
    const prefectures = prefecturesOf(p.id);
    ids.push(p.id, ...(plan.nodes.has(drNodeId(p.id)) ? [drNodeId(p.id)] : []), ...prefectures);
    for (const f of prefectures) ids.push(...ofRole(f, 'county').slice(0, counties));
  }
  return ids;
}
