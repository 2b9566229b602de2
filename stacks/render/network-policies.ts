import type { Labels, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from './kube-object.js';
import { MANAGED_BY, NAMESPACE_NAME_LABEL } from './labels.js';

/** Ports the baseline opens; everything else stays denied. */
export const PORTS = {
  dns: 53,
  /** prom-client exporters of every workload. */
  metrics: 9464,
  /** The system-integration platform's mTLS endpoint. */
  exchange: 443,
  /** Database replication to a DR replica. */
  replication: 5432,
} as const;

interface PolicyContext {
  readonly namespace: string;
  readonly labels: Labels;
  readonly monitoringNamespace: string;
}

function policy(ctx: PolicyContext, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ctx.namespace, labels: ctx.labels }, spec };
}

const tcp = (port: number): NetworkPolicyPort => ({ protocol: 'TCP', port });

/** Deny everything in and out; the policies below open only what the tier model allows. */
export function defaultDeny(ctx: PolicyContext): NetworkPolicy {
  return policy(ctx, 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
}

export function allowDns(ctx: PolicyContext): NetworkPolicy {
  return policy(ctx, 'allow-dns', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [
      {
        to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ protocol: 'UDP', port: PORTS.dns }, tcp(PORTS.dns)],
      },
    ],
  });
}

export function allowSameNamespace(ctx: PolicyContext): NetworkPolicy {
  return policy(ctx, 'allow-same-namespace', {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ podSelector: {} }] }],
    egress: [{ to: [{ podSelector: {} }] }],
  });
}

/** The site's Prometheus scrapes every namespace's exporters. */
export function allowMonitoringScrape(ctx: PolicyContext): NetworkPolicy {
  return policy(ctx, 'allow-monitoring-scrape', {
    podSelector: {},
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: ctx.monitoringNamespace } } }], ports: [tcp(PORTS.metrics)] }],
  });
}

/** In the monitoring namespace: the scrape's way out, to jinbao's namespaces only. */
export function allowScrapeEgress(ctx: PolicyContext): NetworkPolicy {
  return policy(ctx, 'allow-scrape-egress', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { [MANAGED_BY]: 'jinbao' } } }], ports: [tcp(PORTS.metrics)] }],
  });
}

const blocks = (cidrs: readonly string[]): NetworkPolicyPeer[] => cidrs.map((cidr) => ({ ipBlock: { cidr } }));

/**
 * The inter-tier data exchange, both directions, with the data centers of the site's parent and
 * children only: prefecture ↔ its province ↔ the ministry. Two prefectures never appear in each
 * other's list, so they cannot talk directly.
 */
export function allowInterTierExchange(ctx: PolicyContext, peerCidrs: readonly string[]): NetworkPolicy {
  return policy(ctx, 'allow-inter-tier-exchange', {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: blocks(peerCidrs), ports: [tcp(PORTS.exchange)] }],
    egress: [{ to: blocks(peerCidrs), ports: [tcp(PORTS.exchange)] }],
  });
}

/** In a DR replica namespace: replication from (and, for failback, to) the protected site's data center. */
export function allowReplication(ctx: PolicyContext, primaryCidrs: readonly string[]): NetworkPolicy {
  return policy(ctx, 'allow-replication', {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: blocks(primaryCidrs), ports: [tcp(PORTS.replication)] }],
    egress: [{ to: blocks(primaryCidrs), ports: [tcp(PORTS.replication)] }],
  });
}

/**
 * In the ministry's PKI namespace: the certificate service answers every site's ACME clients and
 * relying parties on the fabric's overlay, validates http-01 challenges on port 80 there, and reaches
 * the shared PostgreSQL state.
 */
export function allowCertificateService(ctx: PolicyContext, podLabels: Labels, overlayCidr: string, servicePort: number): NetworkPolicy {
  return policy(ctx, 'allow-certificate-service', {
    podSelector: { matchLabels: podLabels },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: blocks([overlayCidr]), ports: [tcp(servicePort)] }],
    egress: [{ to: blocks([overlayCidr]), ports: [tcp(80), tcp(PORTS.replication)] }],
  });
}
