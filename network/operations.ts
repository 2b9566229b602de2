/**
 * The WAN's operations: what the CLI, `jinbao up` and the exporter call. Each takes the state, the
 * fabric and its inputs and returns data; none prints. Lab operations need root and the tools.
 */
import { resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { Fabric } from '../fabric/index.js';
import { allocateAndRecord } from '../fabric/operations.js';
import { ExitCode, InputError, JinbaoError } from '../lib/errors.js';
import { inputError, jinbaoError, type Lang } from '../lib/i18n/index.js';
import { NETWORK_MESSAGES, reasonOf } from './messages.js';
import type { Progress, StateAccess } from '../lib/context.js';
import { sharedReading } from '../lib/scrape.js';
import {
  buildPlan,
  findNode,
  KeyStore,
  labCheck,
  labCut,
  labKill,
  labDown,
  labNodes,
  labRotate,
  labUp,
  lastCheck,
  readJournal,
  registerWanMetrics,
  renderPlan,
  requireLab,
  requireRootUser,
  requireTools,
  saveCheck,
  writeRendered,
  type CheckResult,
  type WanPlan,
} from './index.js';

/** The national plan from the inventory and the recorded allocations (recording new ones). */
export async function nationalPlan(state: StateAccess, fabric: Fabric, opts: { counties?: boolean } = {}): Promise<WanPlan> {
  const ipam = await allocateAndRecord(await state.database(), fabric);
  return buildPlan(fabric, ipam.allocations, opts);
}

/** Render configs, firewall rules and routing daemon configs for every node (or `only` one) into `outDir`. */
export async function renderWan(state: StateAccess, fabric: Fabric, opts: { outDir: string; site?: string; withPrivateKeys?: boolean; inventorySource: string }) {
  const plan = await nationalPlan(state, fabric);
  if (opts.site !== undefined) findNode(plan, opts.site, opts.inventorySource);
  const keys = await (await keyStore(state)).ensure([...plan.nodes.keys()]);
  const started = performance.now();
  const out = renderPlan(plan, { keys, withPrivateKeys: opts.withPrivateKeys === true, ...(opts.site !== undefined ? { only: [opts.site] } : {}) });
  const dir = resolve(opts.outDir);
  const files = writeRendered(dir, out.nodes, out.summary);
  const seconds = (performance.now() - started) / 1000;
  return { out: dir, files, seconds, summary: out.summary };
}

export interface WanKeyView {
  readonly node: string;
  readonly publicKey: string;
  readonly generation: number;
  readonly privateKeyHeld: boolean;
}

/** Every node's public key and generation (keys are created for nodes that have none). */
export async function wanKeys(state: StateAccess, fabric: Fabric, opts: { site?: string; inventorySource: string }): Promise<WanKeyView[]> {
  const plan = await nationalPlan(state, fabric);
  if (opts.site !== undefined) findNode(plan, opts.site, opts.inventorySource);
  const all = await (await keyStore(state)).ensure([...plan.nodes.keys()]);
  const rows = [...all.values()].filter((k) => plan.nodes.has(k.node) && (opts.site === undefined || k.node === opts.site)).sort((a, b) => (a.node < b.node ? -1 : 1));
  return rows.map((k) => ({ node: k.node, publicKey: k.publicKey, generation: k.generation, privateKeyHeld: k.privateKey !== undefined }));
}

/** Record the public key of a node whose private key is kept elsewhere. */
export async function importWanKey(state: StateAccess, fabric: Fabric, opts: { site: string; publicKey: string; inventorySource: string }) {
  const plan = await nationalPlan(state, fabric);
  findNode(plan, opts.site, opts.inventorySource);
  return (await keyStore(state)).importPublic(opts.site, opts.publicKey);
}

/** Bring a slice of the national plan up in network namespaces (root, tools). */
export async function wanLabUp(state: StateAccess, fabric: Fabric, size: { provinces: number; prefectures: number; counties: number }, log: Progress, lang: Lang = 'en') {
  const plan = await nationalPlan(state, fabric);
  const ids = labNodes(plan, size);
  requireRootUser();
  await requireTools();
  const keys = await (await keyStore(state)).ensure(ids);
  const result = await labUp({ stateDir: state.stateDir, log, lang }, plan, ids, keys);
  return { ids, result };
}

/** Probe the lab (root) and record the result, or read the last recorded check. */
export async function wanCheck(state: StateAccess, fabric: Fabric, opts: { last: boolean }): Promise<{ result: CheckResult; failed: boolean }> {
  let result: CheckResult | undefined;
  if (opts.last) {
    result = await lastCheck(await state.database());
    if (!result) throw inputError(NETWORK_MESSAGES, 'check.none', { dir: state.stateDir });
  } else {
    requireRootUser();
    requireLab(state.stateDir);
    result = await labCheck({ stateDir: state.stateDir }, await nationalPlan(state, fabric));
    await saveCheck(await state.database(), result);
  }
  const failed = result.summary.failures > 0 || result.summary.linksUp < result.summary.links;
  return { result, failed };
}

/** Cut (or restore) the underlay line of a node's uplink in the lab. */
export async function wanCut(state: StateAccess, fabric: Fabric, opts: { site: string; uplink: 'primary' | 'secondary'; restore: boolean }) {
  requireRootUser();
  return labCut({ stateDir: state.stateDir }, await nationalPlan(state, fabric), opts.site, opts.uplink, opts.restore);
}

/** Stop a whole lab node (every process in its namespace), or start it again with `restore`. */
export async function wanKill(state: StateAccess, fabric: Fabric, opts: { site: string; restore: boolean }) {
  requireRootUser();
  return labKill({ stateDir: state.stateDir }, await nationalPlan(state, fabric), opts.site, opts.restore);
}

/** New keys for one node; its peers in a running lab are updated too. */
export async function wanRotate(state: StateAccess, fabric: Fabric, opts: { site: string; inventorySource: string }) {
  const plan = await nationalPlan(state, fabric);
  findNode(plan, opts.site, opts.inventorySource);
  const keys = await keyStore(state);
  const before = (await keys.ensure([...plan.nodes.keys()])).get(opts.site)!;
  const lab = readJournal(state.stateDir);
  const inLab = lab?.status === 'up' && lab.nodes.some((n) => n.id === opts.site);
  if (inLab) requireRootUser();
  const after = await keys.rotate(opts.site);
  if (inLab) {
    try {
      await labRotate({ stateDir: state.stateDir }, plan, opts.site, before.publicKey, await keys.all());
    } catch (err) {
      throw jinbaoError(NETWORK_MESSAGES, 'rotate.labFailed', { node: opts.site, generation: after.generation, tag: lab.tag, reason: reasonOf(err) }, { exitCode: ExitCode.internal, cause: err });
    }
  }
  return { after, lab: inLab ? lab.tag : null };
}

/** Remove everything the lab created; undefined when no lab is recorded. */
export async function wanLabDown(state: StateAccess) {
  if (!readJournal(state.stateDir)) return undefined;
  requireRootUser();
  return labDown({ stateDir: state.stateDir });
}

/** `jinbao up`'s WAN part: the national overlay rendered without private keys, namespaces or root. */
export async function renderNationalWan(state: StateAccess, fabric: Fabric, outDir: string) {
  const started = performance.now();
  const plan = await nationalPlan(state, fabric);
  const keys = await (await keyStore(state)).ensure([...plan.nodes.keys()]);
  const out = renderPlan(plan, { keys });
  const dir = resolve(outDir, 'wan');
  const files = writeRendered(dir, out.nodes, out.summary);
  return { out: dir, files, seconds: (performance.now() - started) / 1000, summary: out.summary };
}

/** Exporter: WAN gauges from the last recorded lab check. */
export function registerWanStateMetrics(registry: Registry, state: StateAccess): void {
  registerWanMetrics(registry, sharedReading(async () => lastCheck(await state.database())));
}

async function keyStore(state: StateAccess): Promise<KeyStore> {
  return KeyStore.open(await state.database());
}
