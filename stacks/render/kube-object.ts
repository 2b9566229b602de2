/**
 * The Kubernetes objects a site's data center is made of, as typed plain objects: the shape
 * `kubectl apply -f -` takes. Both engines (cdktf, Pulumi) and the deployer render these.
 */

export type Labels = Readonly<Record<string, string>>;

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Labels;
  readonly annotations?: Labels;
}

export interface LabelSelector {
  readonly matchLabels?: Labels;
}

export interface NetworkPolicyPeer {
  readonly ipBlock?: { readonly cidr: string };
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
}

export interface NetworkPolicyPort {
  readonly protocol: 'TCP' | 'UDP';
  readonly port: number | string;
}

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export interface Subject {
  readonly kind: 'Group' | 'User' | 'ServiceAccount';
  readonly apiGroup?: string;
  readonly name: string;
}

export interface RoleRef {
  readonly apiGroup: 'rbac.authorization.k8s.io';
  readonly kind: 'ClusterRole' | 'Role';
  readonly name: string;
}

export interface Namespace {
  readonly apiVersion: 'v1';
  readonly kind: 'Namespace';
  readonly metadata: ObjectMeta;
}

export interface ResourceQuota {
  readonly apiVersion: 'v1';
  readonly kind: 'ResourceQuota';
  readonly metadata: ObjectMeta;
  readonly spec: { readonly hard: Labels };
}

export interface LimitRangeItem {
  readonly type: 'Container';
  readonly default: Labels;
  readonly defaultRequest: Labels;
  readonly max: Labels;
}

export interface LimitRange {
  readonly apiVersion: 'v1';
  readonly kind: 'LimitRange';
  readonly metadata: ObjectMeta;
  readonly spec: { readonly limits: readonly LimitRangeItem[] };
}

export interface NetworkPolicy {
  readonly apiVersion: 'networking.k8s.io/v1';
  readonly kind: 'NetworkPolicy';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes: readonly ('Ingress' | 'Egress')[];
    readonly ingress?: readonly { readonly from?: readonly NetworkPolicyPeer[]; readonly ports?: readonly NetworkPolicyPort[] }[];
    readonly egress?: readonly { readonly to?: readonly NetworkPolicyPeer[]; readonly ports?: readonly NetworkPolicyPort[] }[];
  };
}

export interface ClusterRole {
  readonly apiVersion: 'rbac.authorization.k8s.io/v1';
  readonly kind: 'ClusterRole';
  readonly metadata: ObjectMeta;
  readonly rules: readonly PolicyRule[];
}

export interface ClusterRoleBinding {
  readonly apiVersion: 'rbac.authorization.k8s.io/v1';
  readonly kind: 'ClusterRoleBinding';
  readonly metadata: ObjectMeta;
  readonly roleRef: RoleRef;
  readonly subjects: readonly Subject[];
}

export interface RoleBinding {
  readonly apiVersion: 'rbac.authorization.k8s.io/v1';
  readonly kind: 'RoleBinding';
  readonly metadata: ObjectMeta;
  readonly roleRef: RoleRef;
  readonly subjects: readonly Subject[];
}

export interface ConfigMap {
  readonly apiVersion: 'v1';
  readonly kind: 'ConfigMap';
  readonly metadata: ObjectMeta;
  readonly data: Labels;
}

/** A reference to one key of a Secret the operator creates; the rendered objects never hold secret values. */
export interface SecretKeySelector {
  readonly name: string;
  readonly key: string;
}

/** cert-manager's ACME issuer for the whole cluster (cert-manager.io/v1, the fields jinbao sets). */
export interface ClusterIssuer {
  readonly apiVersion: 'cert-manager.io/v1';
  readonly kind: 'ClusterIssuer';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly acme: {
      readonly server: string;
      /** Base64 of the PEM CA certificates that verify the ACME server's TLS certificate. */
      readonly caBundle?: string;
      readonly privateKeySecretRef: { readonly name: string };
      readonly externalAccountBinding: { readonly keyID: string; readonly keySecretRef: SecretKeySelector };
      readonly solvers: readonly { readonly http01: { readonly ingress: Readonly<Record<string, never>> } }[];
    };
  };
}

/** A certificate cert-manager keeps in `secretName`, obtained from `issuerRef`. */
export interface Certificate {
  readonly apiVersion: 'cert-manager.io/v1';
  readonly kind: 'Certificate';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly secretName: string;
    readonly dnsNames: readonly string[];
    readonly issuerRef: { readonly group: 'cert-manager.io'; readonly kind: 'ClusterIssuer'; readonly name: string };
    readonly privateKey: { readonly algorithm: 'ECDSA'; readonly size: 256; readonly rotationPolicy: 'Always' };
  };
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef: SecretKeySelector };
}

export interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string; readonly scheme: 'HTTPS' };
  readonly periodSeconds: number;
  readonly failureThreshold: number;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly args: readonly string[];
  readonly env: readonly EnvVar[];
  readonly ports: readonly { readonly name: string; readonly containerPort: number; readonly protocol: 'TCP' }[];
  readonly readinessProbe: Probe;
  readonly livenessProbe: Probe;
  readonly resources: { readonly requests: Labels; readonly limits: Labels };
  readonly securityContext: {
    readonly allowPrivilegeEscalation: false;
    readonly readOnlyRootFilesystem: true;
    readonly runAsNonRoot: true;
    readonly capabilities: { readonly drop: readonly ['ALL'] };
  };
  readonly volumeMounts: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: true }[];
}

export interface Volume {
  readonly name: string;
  readonly secret?: { readonly secretName: string };
  readonly emptyDir?: Readonly<Record<string, never>>;
}

export interface Deployment {
  readonly apiVersion: 'apps/v1';
  readonly kind: 'Deployment';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: Labels };
    readonly template: {
      readonly metadata: { readonly labels: Labels };
      readonly spec: {
        readonly securityContext: { readonly runAsNonRoot: true; readonly runAsUser: number; readonly runAsGroup: number; readonly seccompProfile: { readonly type: 'RuntimeDefault' } };
        readonly automountServiceAccountToken: false;
        readonly containers: readonly Container[];
        readonly volumes: readonly Volume[];
      };
    };
  };
}

export interface Service {
  readonly apiVersion: 'v1';
  readonly kind: 'Service';
  readonly metadata: ObjectMeta;
  readonly spec: {
    readonly selector: Labels;
    readonly ports: readonly { readonly name: string; readonly port: number; readonly targetPort: string; readonly protocol: 'TCP' }[];
  };
}

export interface PodDisruptionBudget {
  readonly apiVersion: 'policy/v1';
  readonly kind: 'PodDisruptionBudget';
  readonly metadata: ObjectMeta;
  readonly spec: { readonly minAvailable: number; readonly selector: { readonly matchLabels: Labels } };
}

export type KubeObject =
  | Namespace
  | ResourceQuota
  | LimitRange
  | NetworkPolicy
  | ClusterRole
  | ClusterRoleBinding
  | RoleBinding
  | ConfigMap
  | ClusterIssuer
  | Certificate
  | Deployment
  | Service
  | PodDisruptionBudget;

export type KubeKind = KubeObject['kind'];

/** Kinds in the order they must be created (namespaces and roles before what lives in or refers to them). */
export const KIND_ORDER: readonly KubeKind[] = [
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'ResourceQuota',
  'LimitRange',
  'ConfigMap',
  'RoleBinding',
  'NetworkPolicy',
  'ClusterIssuer',
  'Certificate',
  'Service',
  'Deployment',
  'PodDisruptionBudget',
];

/** The API group-version of every kind the baseline uses. */
export const API_VERSIONS: Readonly<Record<KubeKind, KubeObject['apiVersion']>> = {
  Namespace: 'v1',
  ResourceQuota: 'v1',
  LimitRange: 'v1',
  ConfigMap: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ClusterIssuer: 'cert-manager.io/v1',
  Certificate: 'cert-manager.io/v1',
  Deployment: 'apps/v1',
  Service: 'v1',
  PodDisruptionBudget: 'policy/v1',
};

/** "Kind namespace/name" or "Kind name": how messages and diffs name an object. */
export function objectRef(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
