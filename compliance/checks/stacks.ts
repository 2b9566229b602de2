import type { Check, KubeObject } from '../inputs.js';
import { said, type Said } from '../message.js';
import { fail, pass } from './verdict.js';

/** The three administrators MLPS level 3 separates (GB/T 22239-2019 8.1.5.1–8.1.5.3). */
export const ADMIN_ROLES = ['system', 'security', 'audit'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

const ROLE_KINDS = new Set(['Role', 'ClusterRole']);
const BINDING_KINDS = new Set(['RoleBinding', 'ClusterRoleBinding']);
const READ_VERBS = new Set(['get', 'list', 'watch']);

/** Which administrator a Role is for: the `jinbao.io/admin-role` label, else a `<role>-admin` name. */
export function adminRoleOf(o: KubeObject): AdminRole | undefined {
  const label = o.metadata.labels?.['jinbao.io/admin-role'];
  if (label && (ADMIN_ROLES as readonly string[]).includes(label)) return label as AdminRole;
  const m = /(?:^|[-.])(system|security|audit)-admin(?:$|[-.])/.exec(o.metadata.name);
  return m ? (m[1] as AdminRole) : undefined;
}

/**
 * Each site's stack defines the system, security and audit administrator roles, binds each, binds
 * no subject to two of them, and keeps the audit administrator read-only.
 */
export const adminSeparation: Check = (inputs, env) => {
  const stacks = inputs.stacks!;
  return env.sites.map((s) => {
    const objects = stacks.objectsBySite.get(s.id);
    if (!objects) return fail(said('stacks.noStack', { name: s.name }), [{ source: stacks.origin, detail: `no objects for site ${s.id}` }], s.id);
    const roles = objects.filter((o) => ROLE_KINDS.has(o.kind));
    const roleOf = new Map<string, AdminRole>();
    for (const r of roles) {
      const a = adminRoleOf(r);
      if (a) roleOf.set(`${r.kind}/${r.metadata.name}`, a);
    }
    const holders = new Map<string, Set<AdminRole>>();
    const bound = new Set<AdminRole>();
    for (const b of objects.filter((o) => BINDING_KINDS.has(o.kind))) {
      const a = b.roleRef ? roleOf.get(`${b.roleRef.kind}/${b.roleRef.name}`) : undefined;
      if (!a) continue;
      bound.add(a);
      for (const subj of b.subjects ?? []) {
        const key = `${subj.kind}:${subj.namespace ? `${subj.namespace}/` : ''}${subj.name}`;
        const set = holders.get(key) ?? new Set<AdminRole>();
        set.add(a);
        holders.set(key, set);
      }
    }
    const problems: Said[] = [];
    const defined = new Set(roleOf.values());
    for (const a of ADMIN_ROLES) {
      if (!defined.has(a)) problems.push(said('stacks.noRole', { role: a }));
      else if (!bound.has(a)) problems.push(said('stacks.unbound', { role: a }));
    }
    for (const [subject, set] of holders) if (set.size > 1) problems.push(said('stacks.twoRoles', { subject, roles: [...set].sort().join(' + ') }));
    for (const r of roles) {
      if (adminRoleOf(r) !== 'audit') continue;
      const writes = (r.rules ?? []).flatMap((rule) => rule.verbs.filter((v) => !READ_VERBS.has(v)));
      if (writes.length > 0) problems.push(said('stacks.auditWrites', { role: `${r.kind}/${r.metadata.name}`, verbs: [...new Set(writes)].join(', ') }));
    }
    const evidence = [
      { source: stacks.origin, detail: `roles: ${[...roleOf].map(([k, a]) => `${k} (${a})`).join(', ') || 'none'}` },
      { source: stacks.origin, detail: `subjects: ${[...holders].map(([k, set]) => `${k} → ${[...set].join('+')}`).join('; ') || 'none'}` },
    ];
    return problems.length === 0
      ? pass(said('stacks.separate', { name: s.name }), evidence, s.id)
      : fail(said('site.problems', { name: s.name, problems }), evidence, s.id);
  });
};

interface PolicySpec {
  podSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  policyTypes?: string[];
  ingress?: unknown[];
  egress?: unknown[];
}

/** Which directions a NetworkPolicy denies by default for every pod of its namespace. */
export function defaultDenies(o: KubeObject): { ingress: boolean; egress: boolean } {
  if (o.kind !== 'NetworkPolicy') return { ingress: false, egress: false };
  const spec = (o.spec ?? {}) as PolicySpec;
  const sel = spec.podSelector ?? {};
  const all = Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
  const types = spec.policyTypes ?? ['Ingress'];
  return {
    ingress: all && types.includes('Ingress') && (spec.ingress ?? []).length === 0,
    egress: all && types.includes('Egress') && (spec.egress ?? []).length === 0,
  };
}

/** Every namespace a site's stack creates denies ingress and egress by default. */
export const defaultDenySegmentation: Check = (inputs, env) => {
  const stacks = inputs.stacks!;
  return env.sites.map((s) => {
    const objects = stacks.objectsBySite.get(s.id);
    if (!objects) return fail(said('stacks.noStack', { name: s.name }), [{ source: stacks.origin, detail: `no objects for site ${s.id}` }], s.id);
    const namespaces = objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
    const missing: Said[] = [];
    for (const ns of namespaces) {
      const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === ns).map(defaultDenies);
      const ingress = policies.some((p) => p.ingress);
      const egress = policies.some((p) => p.egress);
      if (!ingress || !egress) missing.push(said('stacks.notDenied', { namespace: ns, directions: said(`stacks.direction.${!ingress && !egress ? 'both' : !ingress ? 'ingress' : 'egress'}`) }));
    }
    const evidence = [{ source: stacks.origin, detail: `${namespaces.length} namespace(s): ${namespaces.join(', ') || 'none'}` }];
    if (namespaces.length === 0) return fail(said('stacks.noNamespace', { name: s.name }), evidence, s.id);
    return missing.length === 0
      ? pass(said('stacks.segmented', { name: s.name, count: namespaces.length }), evidence, s.id)
      : fail(said('site.problems', { name: s.name, problems: missing }), evidence, s.id);
  });
};
