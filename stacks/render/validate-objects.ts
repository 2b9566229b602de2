import { objectRef, type KubeObject, type LimitRange, type ResourceQuota } from './kube-object.js';
import { parseQuantity } from './quantity.js';
import { inputError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function nameProblem(name: string): string | undefined {
  if (name.length > 63) return `"${name}" is ${name.length} characters; Kubernetes allows at most 63`;
  if (!DNS_LABEL.test(name)) return `"${name}" is not a DNS-1123 label; want lowercase letters, digits and "-", starting and ending with a letter or digit`;
  return undefined;
}

export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `label key "${key}" has an invalid prefix; want a DNS subdomain such as "example.org"`;
  if (name.length > 63 || !LABEL_NAME.test(name)) return `label key "${key}" is invalid; want at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `"${value}" is ${value.length} characters; a label value allows at most 63`;
  if (!LABEL_NAME.test(value)) return `"${value}" is not a valid label value; want letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  return undefined;
}

/**
 * Refuse objects Kubernetes would reject (names, label keys and values) and quotas that could never
 * admit one container at the LimitRange defaults. Every problem is reported at once, each naming
 * site, object and field; nothing has been written when this throws.
 */
export function validateObjects(siteId: string, objects: readonly KubeObject[]): void {
  const problems: string[] = [];
  const at = (o: KubeObject, field: string, message: string) => problems.push(`site ${siteId}, ${objectRef(o)}, ${field}: ${message}`);
  const seen = new Set<string>();
  const quotas = new Map<string, ResourceQuota>();
  const limits = new Map<string, LimitRange>();
  for (const o of objects) {
    const ref = objectRef(o);
    if (seen.has(ref)) at(o, 'metadata.name', 'duplicate object; every object of a site needs its own kind, namespace and name');
    seen.add(ref);
    const nameIssue = nameProblem(o.metadata.name);
    if (nameIssue) at(o, 'metadata.name', nameIssue);
    if (o.metadata.namespace !== undefined) {
      const nsIssue = nameProblem(o.metadata.namespace);
      if (nsIssue) at(o, 'metadata.namespace', nsIssue);
    }
    for (const [key, value] of Object.entries(o.metadata.labels ?? {})) {
      const keyIssue = labelKeyProblem(key);
      if (keyIssue) at(o, `metadata.labels["${key}"]`, keyIssue);
      const valueIssue = labelValueProblem(value);
      if (valueIssue) at(o, `metadata.labels["${key}"]`, valueIssue);
    }
    if (o.kind === 'ResourceQuota') quotas.set(o.metadata.namespace ?? '', o);
    if (o.kind === 'LimitRange') limits.set(o.metadata.namespace ?? '', o);
  }
  for (const [ns, quota] of quotas) {
    const item = limits.get(ns)?.spec.limits[0];
    if (!item) continue;
    const pairs: [string, string | undefined, string, string | undefined][] = [
      ['limits.cpu', quota.spec.hard['limits.cpu'], 'default.cpu', item.default.cpu],
      ['limits.memory', quota.spec.hard['limits.memory'], 'default.memory', item.default.memory],
      ['requests.cpu', quota.spec.hard['requests.cpu'], 'defaultRequest.cpu', item.defaultRequest.cpu],
      ['requests.memory', quota.spec.hard['requests.memory'], 'defaultRequest.memory', item.defaultRequest.memory],
    ];
    for (const [quotaField, quotaText, limitField, limitText] of pairs) {
      if (quotaText === undefined || limitText === undefined) continue;
      const q = parseQuantity(quotaText);
      const l = parseQuantity(limitText);
      if (q === undefined) at(quota, `spec.hard["${quotaField}"]`, `"${quotaText}" is not a quantity such as "500m", "4Gi" or "16"`);
      else if (l === undefined) at(limits.get(ns)!, `spec.limits[0].${limitField}`, `"${limitText}" is not a quantity such as "500m", "4Gi" or "16"`);
      else if (q < l) at(quota, `spec.hard["${quotaField}"]`, `${quotaText} is below the LimitRange ${limitField} ${limitText}; not even one container would be admitted — raise the quota or lower the default`);
    }
  }
  if (problems.length > 0) {
    throw inputError(STACKS_MESSAGES, 'render.invalid', { site: siteId, count: problems.length }, { details: problems });
  }
}
