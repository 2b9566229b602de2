import type { ClusterRole, ClusterRoleBinding, Labels, PolicyRule, RoleBinding, Subject } from './kube-object.js';

/**
 * Separation of duties for MLPS level 3: three administrators, none of whom can do the others' job.
 * - system administrator: runs workloads; never reads secrets, never touches audit data;
 * - security administrator: secrets everywhere, and everything in the PKI namespace;
 * - audit administrator: read-only everywhere, audit data included, secrets excluded.
 */
export const ROLES = {
  system: 'jinbao-system-admin',
  secrets: 'jinbao-security-admin',
  pki: 'jinbao-pki-admin',
  audit: 'jinbao-audit-admin',
} as const;

const ALL = ['*'];
const READ = ['get', 'list', 'watch'];
const WORKLOADS: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'events'], verbs: ALL },
  { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], verbs: ALL },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ALL },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ALL },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ALL },
];

export function clusterRoles(labels: Labels): ClusterRole[] {
  const role = (name: string, rules: readonly PolicyRule[]): ClusterRole => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels },
    rules,
  });
  return [
    role(ROLES.system, WORKLOADS),
    role(ROLES.secrets, [
      { apiGroups: [''], resources: ['secrets'], verbs: ALL },
      { apiGroups: [''], resources: ['configmaps'], verbs: READ },
    ]),
    role(ROLES.pki, [{ apiGroups: ['', 'apps', 'batch'], resources: ['*'], verbs: ALL }]),
    role(ROLES.audit, [
      ...WORKLOADS.map((r) => ({ ...r, verbs: READ })),
      { apiGroups: [''], resources: ['namespaces', 'resourcequotas', 'limitranges'], verbs: READ },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: READ },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'], verbs: READ },
    ]),
  ];
}

/** The group a site's identity provider maps each administrator to. */
export function adminGroup(siteId: string, duty: 'system' | 'security' | 'audit'): Subject {
  return { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `jinbao:${siteId}:${duty}-admins` };
}

export function roleBinding(namespace: string, name: string, role: string, subject: Subject, labels: Labels): RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [subject],
  };
}

export function auditBinding(siteId: string, labels: Labels): ClusterRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'jinbao-audit-admins', labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLES.audit },
    subjects: [adminGroup(siteId, 'audit')],
  };
}
