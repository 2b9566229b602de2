export * from './kube-object.js';
export { renderSite, PLATFORM_NAMESPACES, type RenderOptions } from './render-site.js';
export { validateObjects, nameProblem, labelKeyProblem, labelValueProblem } from './validate-objects.js';
export { DEFAULT_SIZING, type NamespaceSizing } from './sizing.js';
export { siteLabels, siteSelector, SITE_LABEL, MANAGED_BY } from './labels.js';
export { PORTS } from './network-policies.js';
export { ROLES, adminGroup } from './rbac.js';
export { TRUST_BUNDLE_NAME, TRUST_BUNDLE_KEY, checkTrustBundle, splitPemBundle } from './trust-bundle.js';
export { parseQuantity } from './quantity.js';
export {
  ACME_ISSUER_NAME,
  EAB_SECRET,
  SERVICE_NAME,
  SERVICE_SECRETS,
  applicationDnsName,
  defaultServiceUrl,
  type CertificateServiceOptions,
} from './certificate-service.js';
