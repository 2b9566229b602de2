import type { DcClass } from '../../fabric/index.js';

/** How much one namespace may use, by the site's GB 50174 data-center class. */
export interface NamespaceSizing {
  /** ResourceQuota `spec.hard`. */
  readonly quota: Readonly<Record<string, string>>;
  /** LimitRange per-container defaults and ceiling. */
  readonly containerDefault: Readonly<Record<'cpu' | 'memory', string>>;
  readonly containerDefaultRequest: Readonly<Record<'cpu' | 'memory', string>>;
  readonly containerMax: Readonly<Record<'cpu' | 'memory', string>>;
}

/**
 * Class A data centers are the most resilient and the largest; B and C are scaled down. The figures
 * are a baseline per namespace: a site's real capacity planning overrides them through `sizing`.
 */
export const DEFAULT_SIZING: Readonly<Record<DcClass, NamespaceSizing>> = {
  A: {
    quota: { 'requests.cpu': '64', 'requests.memory': '256Gi', 'limits.cpu': '128', 'limits.memory': '512Gi', pods: '500', persistentvolumeclaims: '200', 'requests.storage': '20Ti' },
    containerDefault: { cpu: '2', memory: '4Gi' },
    containerDefaultRequest: { cpu: '500m', memory: '1Gi' },
    containerMax: { cpu: '16', memory: '64Gi' },
  },
  B: {
    quota: { 'requests.cpu': '32', 'requests.memory': '128Gi', 'limits.cpu': '64', 'limits.memory': '256Gi', pods: '250', persistentvolumeclaims: '100', 'requests.storage': '10Ti' },
    containerDefault: { cpu: '1', memory: '2Gi' },
    containerDefaultRequest: { cpu: '250m', memory: '512Mi' },
    containerMax: { cpu: '8', memory: '32Gi' },
  },
  C: {
    quota: { 'requests.cpu': '16', 'requests.memory': '64Gi', 'limits.cpu': '32', 'limits.memory': '128Gi', pods: '120', persistentvolumeclaims: '50', 'requests.storage': '4Ti' },
    containerDefault: { cpu: '1', memory: '1Gi' },
    containerDefaultRequest: { cpu: '100m', memory: '256Mi' },
    containerMax: { cpu: '4', memory: '16Gi' },
  },
};
