import { API_VERSIONS, KIND_ORDER, objectRef, siteSelector, type KubeObject } from '../render/index.js';
import { FIELD_MANAGER, type Cluster, type LiveObject } from './cluster.js';
import { translator, type Lang } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';

export interface FieldChange {
  /** `spec.hard["limits.cpu"]`: where, in the object. */
  readonly path: string;
  readonly from: unknown;
  readonly to: unknown;
}

export type Change =
  | { readonly action: 'create'; readonly object: KubeObject }
  | { readonly action: 'update'; readonly object: KubeObject; readonly fields: readonly FieldChange[] }
  | { readonly action: 'unchanged'; readonly object: KubeObject }
  | { readonly action: 'prune'; readonly object: LiveObject };

export interface Plan {
  readonly site: string;
  readonly server: string;
  readonly context: string;
  /** Creates and updates in apply order, then unchanged objects, then prune candidates. */
  readonly changes: readonly Change[];
}

type Leaf = [path: string[], value: unknown];

/** Leaf fields: maps are walked, lists and scalars compared whole. */
function leaves(value: unknown, path: string[] = []): Leaf[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && path.length > 0) return [[path, {}]];
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [[path, value]];
}

function at(o: unknown, path: readonly string[]): unknown {
  let cur = o;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function formatPath(path: readonly string[]): string {
  return path.map((p, i) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `${i === 0 ? '' : '.'}${p}` : `[${JSON.stringify(p)}]`)).join('');
}

/**
 * The fields of `desired` whose live value differs. Only fields jinbao sets are compared: what the
 * server or other field managers add (the namespace name label, status, other teams' labels) is not
 * jinbao's to change.
 */
export function diffObject(desired: KubeObject, live: LiveObject): FieldChange[] {
  const { apiVersion: _a, kind: _k, ...body } = desired;
  const wanted = leaves(body);
  const changed = wanted
    .filter(([path, value]) => canonical(at(live, path)) !== canonical(value))
    .map(([path, value]) => ({ path: formatPath(path), from: at(live, path), to: value as unknown }));
  // Fields jinbao applied before and no longer sets: server-side apply removes them.
  const overlaps = (a: readonly string[], b: readonly string[]) => a.slice(0, b.length).every((k, i) => k === b[i]) || b.slice(0, a.length).every((k, i) => k === a[i]);
  const dropped = ownedFields(live)
    .filter((path) => !wanted.some(([w]) => overlaps(w, path)) && at(live, path) !== undefined)
    .map((path) => ({ path: formatPath(path), from: at(live, path), to: undefined }));
  return [...changed, ...dropped];
}

/**
 * The leaf fields jinbao's field manager owns, from `metadata.managedFields` (FieldsV1: nested
 * "f:<field>" keys). An entry keyed by list item ("k:", "v:") makes the whole list the field, as
 * jinbao compares lists whole. Server-maintained name/namespace are left out.
 */
function ownedFields(live: LiveObject): string[][] {
  const managed = (live.metadata as { managedFields?: { manager?: string; fieldsV1?: unknown }[] }).managedFields ?? [];
  const paths: string[][] = [];
  const walk = (node: unknown, path: string[]) => {
    const keys = node !== null && typeof node === 'object' ? Object.keys(node).filter((k) => k !== '.') : [];
    if (keys.some((k) => !k.startsWith('f:')) || keys.length === 0) {
      if (path.length > 0) paths.push(path);
      return;
    }
    for (const k of keys) walk((node as Record<string, unknown>)[k], [...path, k.slice(2)]);
  };
  for (const m of managed) if (m.manager === FIELD_MANAGER) walk(m.fieldsV1, []);
  return paths.filter((p) => !(p[0] === 'metadata' && (p[1] === 'name' || p[1] === 'namespace')) && p[0] !== 'apiVersion' && p[0] !== 'kind');
}

/** JSON with object keys sorted: the server may return fields in another order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

const rank = (kind: string) => KIND_ORDER.indexOf(kind as KubeObject['kind']);

/** Compare a site's desired objects with the cluster: what `apply` would create, change and (with --prune) delete. */
export async function planSite(cluster: Cluster, site: string, desired: readonly KubeObject[]): Promise<Plan> {
  const changes: Change[] = [];
  const lives = await inBatches(desired, 8, (o) => cluster.read(o));
  desired.forEach((o, i) => {
    const live = lives[i];
    if (!live) changes.push({ action: 'create', object: o });
    else {
      const fields = diffObject(o, live);
      changes.push(fields.length > 0 ? { action: 'update', object: o, fields } : { action: 'unchanged', object: o });
    }
  });
  const wanted = new Set(desired.map(objectRef));
  // Every kind jinbao manages, not only those still desired: a kind the site no longer uses at all
  // must be pruned too.
  const managed = (await Promise.all(KIND_ORDER.map((kind) => cluster.list(API_VERSIONS[kind], kind, siteSelector(site))))).flat();
  const prune = managed.filter((o) => !wanted.has(objectRef(o))).sort((a, b) => rank(b.kind) - rank(a.kind));
  const order = (c: Change) => rank(c.object.kind);
  const active = changes.filter((c) => c.action !== 'unchanged').sort((a, b) => order(a) - order(b));
  return {
    site,
    server: cluster.server,
    context: cluster.context,
    changes: [...active, ...changes.filter((c) => c.action === 'unchanged'), ...prune.map((object) => ({ action: 'prune' as const, object }))],
  };
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** The plan as a person reads it, in `lang`: +, ~ with each changed field, - for pruning, and a count line. */
export function formatPlan(plan: Plan, opts: { readonly prune: boolean; readonly lang?: Lang }): string {
  const t = translator(opts.lang ?? 'en', STACKS_MESSAGES);
  const show = (v: unknown) => (v === undefined ? t('plan.unset') : JSON.stringify(v));
  const lines = [t('plan.head', { site: plan.site, server: plan.server, context: plan.context })];
  const count = (a: Change['action']) => plan.changes.filter((c) => c.action === a).length;
  for (const c of plan.changes) {
    if (c.action === 'create') lines.push(`  + ${objectRef(c.object)}`);
    if (c.action === 'update') {
      lines.push(`  ~ ${objectRef(c.object)}`);
      for (const f of c.fields) lines.push(`      ${f.path}: ${show(f.from)} → ${show(f.to)}`);
    }
    if (c.action === 'prune') lines.push(`  - ${objectRef(c.object)}${opts.prune ? '' : `   ${t('plan.kept')}`}`);
  }
  const pruned = count('prune');
  lines.push(
    t('plan.counts', { create: count('create'), change: count('update'), delete: opts.prune ? pruned : 0, unchanged: count('unchanged') }) +
      (!opts.prune && pruned > 0 ? t('plan.notDesired', { count: pruned }) : ''),
  );
  return lines.join('\n') + '\n';
}
