import type { Domain, Fabric, Site } from '../../fabric/index.js';
import type { Certificate, ClusterIssuer, Deployment, Labels, PodDisruptionBudget, Service } from './kube-object.js';
import { inputError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';

/**
 * How a site's workloads get certificates from the PKI: cert-manager talks ACME to `jinbao serve`.
 * Every site gets one ClusterIssuer bound to the site by an External Account Binding key, and every
 * MLPS level-3 application (a business domain the site hosts) a Certificate for its name under the
 * site's zone; the ministry's stack also runs the service. No secret value is ever rendered: the
 * objects name Secrets the operator creates.
 */

/** The zone the ACME identifier policy gives a site (pki/acme/policy.ts: `<slug>.jinbao.internal`). */
export const FABRIC_DNS_SUFFIX = 'jinbao.internal';

export const ACME_ISSUER_NAME = 'jinbao-acme';
/** Secret (in cert-manager's cluster resource namespace) holding the HMAC key of `jinbao acme eab create --site ID --json`. */
export const EAB_SECRET = { name: 'jinbao-acme-eab', key: 'hmac-key' } as const;
/** Secret cert-manager creates for the ACME account key. */
export const ACME_ACCOUNT_SECRET = 'jinbao-acme-account';

export const SERVICE_NAME = 'jinbao-serve';
/** Secrets the ministry's operator creates for the service: its TLS certificate, the state URL and passphrase, the database client certificate. */
export const SERVICE_SECRETS = {
  tls: 'jinbao-serve-tls',
  state: { name: 'jinbao-serve-state', key: 'state-url' },
  passphrase: { name: 'jinbao-serve-passphrase', key: 'passphrase' },
  databaseClient: 'jinbao-serve-db-client',
} as const;
export const SERVICE_PORT = 8443;
export const SERVICE_POD_LABELS = { 'app.kubernetes.io/name': SERVICE_NAME } as const;

export interface CertificateServiceOptions {
  /** The service's public https:// URL (no path): the ACME directory is under it. @default defaultServiceUrl(fabric) */
  readonly publicUrl?: string;
  /** Key id of each site's EAB key (`jinbao acme eab create --site ID`), by site id. @default {} (an annotated placeholder) */
  readonly eabKeyIds?: Readonly<Record<string, string>>;
  /** Container image running `jinbao serve` in the ministry's stack. @default 'jinbao:0.1.0' */
  readonly image?: string;
}

/** `https://pki.<ministry slug>.jinbao.internal`: a name in the ministry's zone, where the service runs. */
export function defaultServiceUrl(fabric: Fabric): string {
  return `https://pki.${fabric.ministry.slug}.${FABRIC_DNS_SUFFIX}`;
}

/** The DNS name of a site's application: `<domain>.<slug>.jinbao.internal`, inside the site's ACME zone. */
export function applicationDnsName(site: Pick<Site, 'slug'>, domain: Domain): string {
  return `${domain}.${site.slug}.${FABRIC_DNS_SUFFIX}`;
}

/** The service URL to render, checked: https, a host, no credentials, query or fragment. */
export function servicePublicUrl(fabric: Fabric, options: CertificateServiceOptions | undefined): string {
  const text = options?.publicUrl ?? defaultServiceUrl(fabric);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || url.protocol !== 'https:' || url.username || url.password || url.search || url.hash) {
    throw inputError(STACKS_MESSAGES, 'certService.url', { text, example: defaultServiceUrl(fabric) });
  }
  return text.replace(/\/+$/, '');
}

/** The site's ClusterIssuer: ACME against the service, trusting the jinbao CA certificates, bound by the site's EAB key. */
export function acmeClusterIssuer(site: Site, labels: Labels, publicUrl: string, trustPems: readonly string[], eabKeyId: string | undefined): ClusterIssuer {
  const pending: Record<string, string> = {};
  if (eabKeyId === undefined) pending['jinbao.io/acme-eab'] = `placeholder: run jinbao acme eab create --site ${site.id} --json, store its hmacKey in Secret ${EAB_SECRET.name} (key ${EAB_SECRET.key}), then render again`;
  if (trustPems.length === 0) pending['jinbao.io/acme-ca-bundle'] = 'placeholder: render with the trust bundle (jinbao pki cas --pem root) so cert-manager trusts the service';
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name: ACME_ISSUER_NAME, labels, annotations: { 'jinbao.io/acme-site': site.id, ...pending } },
    spec: {
      acme: {
        server: `${publicUrl}/acme/directory`,
        ...(trustPems.length > 0 ? { caBundle: Buffer.from(trustPems.map((p) => p.trim() + '\n').join('')).toString('base64') } : {}),
        privateKeySecretRef: { name: ACME_ACCOUNT_SECRET },
        externalAccountBinding: { keyID: eabKeyId ?? '', keySecretRef: { ...EAB_SECRET } },
        solvers: [{ http01: { ingress: {} } }],
      },
    },
  };
}

/** One Certificate per MLPS level-3 application of the site, in the application's namespace. */
export function applicationCertificates(fabric: Fabric, site: Site, labels: Labels, namespaceOf: (domain: Domain) => string): Certificate[] {
  if (site.mlpsLevel < 3) return [];
  return fabric.domains(site).map((domain) => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: `${domain}-tls`, namespace: namespaceOf(domain), labels },
    spec: {
      secretName: `${domain}-tls`,
      dnsNames: [applicationDnsName(site, domain)],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: ACME_ISSUER_NAME },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  }));
}

/**
 * The certificate service in the ministry's stack: two `jinbao serve` replicas on the shared
 * PostgreSQL state (the state URL, without a password, comes from a Secret; the database
 * authenticates the client certificate mounted beside it), a Service, and a disruption budget that
 * keeps one replica up.
 */
export function certificateService(namespace: string, labels: Labels, publicUrl: string, image: string): [Service, Deployment, PodDisruptionBudget] {
  const app = SERVICE_POD_LABELS;
  const probe = (path: string) => ({ httpGet: { path, port: 'https', scheme: 'HTTPS' as const }, periodSeconds: 10, failureThreshold: 3 });
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE_NAME, namespace, labels },
      spec: { selector: app, ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: SERVICE_NAME, namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: app },
        template: {
          metadata: { labels: { ...labels, ...app } },
          spec: {
            securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'serve',
                image,
                args: ['serve', '--listen', `0.0.0.0:${SERVICE_PORT}`, '--public-url', publicUrl, '--tls-cert', '/etc/jinbao/tls/tls.crt', '--tls-key', '/etc/jinbao/tls/tls.key'],
                env: [
                  { name: 'JINBAO_STATE', valueFrom: { secretKeyRef: { ...SERVICE_SECRETS.state } } },
                  { name: 'JINBAO_PKI_PASSPHRASE', valueFrom: { secretKeyRef: { ...SERVICE_SECRETS.passphrase } } },
                ],
                ports: [{ name: 'https', containerPort: SERVICE_PORT, protocol: 'TCP' }],
                readinessProbe: probe('/readyz'),
                livenessProbe: probe('/healthz'),
                resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'tls', mountPath: '/etc/jinbao/tls', readOnly: true },
                  { name: 'db-client', mountPath: '/etc/jinbao/db', readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'tls', secret: { secretName: SERVICE_SECRETS.tls } },
              { name: 'db-client', secret: { secretName: SERVICE_SECRETS.databaseClient } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: SERVICE_NAME, namespace, labels },
      spec: { minAvailable: 1, selector: { matchLabels: app } },
    },
  ];
}
