import { webcrypto } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import * as x509 from '@peculiar/x509';
import type { AddressInfo } from 'node:net';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { LimitRange } from 'kubernetes-models/v1/LimitRange';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ResourceQuota } from 'kubernetes-models/v1/ResourceQuota';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Certificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import { ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';

/**
 * A small in-process stand-in for a Kubernetes API server, for tests. It is NOT a cluster: no
 * controllers, no admission beyond schema validation, no watch. It is honest about what
 * `jinbao plan/apply` relies on:
 * - discovery documents for the group-versions the baseline uses;
 * - TLS with its own CA (in the kubeconfig it writes) and bearer-token authentication (401 otherwise);
 * - server-side apply (PATCH application/apply-patch+yaml): a fieldManager is required; each manager
 *   owns the leaf fields it applied; re-applying drops the fields it no longer sends (unless another
 *   manager owns them) and keeps other managers' fields; a different value for a field another
 *   manager owns is a 409 conflict unless force=true. Lists are atomic (one field), a simplification
 *   of real associative lists;
 * - dryRun=All answers without storing;
 * - resourceVersion: bumped on every change; a delete whose precondition names an older one → 409;
 * - objects the Kubernetes OpenAPI schema rejects (kubernetes-models) or with invalid names → 422;
 * - a namespaced object in a namespace that does not exist → 404;
 * - Namespaces get the `kubernetes.io/metadata.name` label, as real API servers add it.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Kind {
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly model: new (data: never) => { validate(): void };
}

const GROUPS: Record<string, readonly Kind[]> = {
  v1: [
    { kind: 'Namespace', plural: 'namespaces', namespaced: false, model: Namespace },
    { kind: 'ResourceQuota', plural: 'resourcequotas', namespaced: true, model: ResourceQuota },
    { kind: 'LimitRange', plural: 'limitranges', namespaced: true, model: LimitRange },
    { kind: 'ConfigMap', plural: 'configmaps', namespaced: true, model: ConfigMap },
    { kind: 'Service', plural: 'services', namespaced: true, model: Service },
  ],
  'apps/v1': [{ kind: 'Deployment', plural: 'deployments', namespaced: true, model: Deployment }],
  'policy/v1': [{ kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true, model: PodDisruptionBudget }],
  'cert-manager.io/v1': [
    { kind: 'ClusterIssuer', plural: 'clusterissuers', namespaced: false, model: ClusterIssuer },
    { kind: 'Certificate', plural: 'certificates', namespaced: true, model: Certificate },
  ],
  'networking.k8s.io/v1': [{ kind: 'NetworkPolicy', plural: 'networkpolicies', namespaced: true, model: NetworkPolicy }],
  'rbac.authorization.k8s.io/v1': [
    { kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, model: ClusterRole },
    { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false, model: ClusterRoleBinding },
    { kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, model: RoleBinding },
  ],
};

interface Stored {
  object: Json;
  /** manager → the leaf paths it owns (JSON-encoded path arrays). */
  owners: Map<string, Set<string>>;
}

type Leaf = [path: string[], value: unknown];

/** Leaf fields of an object's managed content: maps are walked, lists and scalars are leaves. */
function leaves(value: unknown, path: string[] = []): Leaf[] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Json);
    if (entries.length === 0 && path.length > 0) return [[path, {}]];
    return entries.flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [[path, value]];
}

function content(o: Json): Json {
  const { apiVersion: _a, kind: _k, status: _s, ...rest } = o;
  const { name: _n, namespace: _ns, resourceVersion: _rv, uid: _u, creationTimestamp: _c, managedFields: _m, ...meta } = (rest.metadata ?? {}) as Json;
  return { ...rest, metadata: meta };
}

function setPath(target: Json, path: string[], value: unknown): void {
  let cur = target;
  for (const key of path.slice(0, -1)) {
    if (cur[key] === null || typeof cur[key] !== 'object' || Array.isArray(cur[key])) cur[key] = {};
    cur = cur[key] as Json;
  }
  cur[path[path.length - 1]!] = structuredClone(value);
}

function deletePath(target: Json, path: string[]): void {
  const parents: Json[] = [];
  let cur: Json | undefined = target;
  for (const key of path.slice(0, -1)) {
    parents.push(cur);
    cur = cur[key] as Json | undefined;
    if (cur === undefined || typeof cur !== 'object') return;
  }
  delete cur[path[path.length - 1]!];
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = parents[i]!;
    const child = parent[path[i]!] as Json;
    if (child && typeof child === 'object' && Object.keys(child).length === 0) delete parent[path[i]!];
    else break;
  }
}

function getPath(o: Json, path: string[]): unknown {
  let cur: unknown = o;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Json)[key];
  }
  return cur;
}

/** The owned leaf paths in the API server's FieldsV1 form: nested "f:<field>" keys, {} at each leaf. */
function fieldsV1(owned: Iterable<string>): Json {
  const root: Json = {};
  for (const p of owned) {
    let cur = root;
    for (const key of JSON.parse(p) as string[]) cur = (cur[`f:${key}`] ??= {}) as Json;
  }
  return root;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface FakeApiServer {
  readonly url: string;
  readonly token: string;
  /** Objects as stored, by "<apiVersion>/<kind>/<namespace>/<name>". */
  readonly objects: Map<string, Stored>;
  /** Every request, "<METHOD> <path>", in order. */
  readonly requests: string[];
  /** Fail the next request whose "<METHOD> <path>" matches with this status and message. */
  failNext(match: RegExp, status: number, message: string): void;
  /** Write a kubeconfig for this server into `file` (token `token`, default the right one). */
  kubeconfig(token?: string): string;
  /** Apply `object` as another field manager, taking over conflicting fields (kubectl apply --server-side --force-conflicts). */
  applyAs(manager: string, object: Json): Json;
  get(apiVersion: string, kind: string, name: string, namespace?: string): Json | undefined;
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1, made fresh for each server. */
async function selfSigned(): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=fake-apiserver',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys: keys as webcrypto.CryptoKeyPair,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n` };
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const tls = await selfSigned();
  const token = 'test-token-' + Math.random().toString(36).slice(2);
  const objects = new Map<string, Stored>();
  const requests: string[] = [];
  const failures: { match: RegExp; status: number; message: string }[] = [];
  let version = 100;

  const key = (apiVersion: string, kind: string, namespace: string | undefined, name: string) => `${apiVersion}/${kind}/${namespace ?? ''}/${name}`;
  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  };
  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const matches = (o: Json, selector: string | null) =>
    !selector ||
    selector.split(',').every((term) => {
      const [k, v] = term.split('=');
      return (o.metadata?.labels ?? {})[k!] === v;
    });

  /** Server-side apply of `body` by `manager`; returns [code, object] or throws [code, reason, message]. */
  function apply(group: string, kind: Kind, namespace: string | undefined, name: string, body: Json, manager: string, force: boolean, dryRun: boolean): [number, Json] {
    if (body.kind !== kind.kind || body.apiVersion !== group) throw [400, 'BadRequest', `the body's ${body.apiVersion}/${body.kind} does not match the URL's ${group}/${kind.kind}`];
    if (body.metadata?.name !== name) throw [400, 'BadRequest', `the name of the object (${body.metadata?.name}) does not match the name on the URL (${name})`];
    if (kind.namespaced && !objects.has(key('v1', 'Namespace', undefined, namespace!))) throw [404, 'NotFound', `namespaces "${namespace}" not found`];
    if (!DNS_LABEL.test(name) || name.length > 63) throw [422, 'Invalid', `${kind.kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`];
    try {
      new kind.model(body as never).validate();
    } catch (err) {
      throw [422, 'Invalid', `${kind.kind} "${name}" is invalid: ${(err as Error).message}`];
    }
    const k = key(group, kind.kind, namespace, name);
    const existing = objects.get(k);
    const live: Json = existing ? structuredClone(existing.object) : { apiVersion: group, kind: kind.kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
    if (body.metadata.resourceVersion !== undefined && existing && body.metadata.resourceVersion !== existing.object.metadata.resourceVersion) {
      throw [409, 'Conflict', `Operation cannot be fulfilled on ${kind.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`];
    }
    const owners = new Map([...(existing?.owners ?? new Map<string, Set<string>>())].map(([m, s]) => [m, new Set(s)]));
    const applied = leaves(content(body));
    const appliedKeys = new Set(applied.map(([p]) => JSON.stringify(p)));
    const conflicts: string[] = [];
    for (const [path, value] of applied) {
      const p = JSON.stringify(path);
      for (const [other, owned] of owners) {
        if (other === manager || !owned.has(p)) continue;
        if (JSON.stringify(getPath(live, path)) === JSON.stringify(value)) continue;
        if (force) owned.delete(p);
        else conflicts.push(`conflict with "${other}": .${path.join('.')}`);
      }
    }
    if (conflicts.length > 0) throw [409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${conflicts.join('; ')}`];
    for (const p of owners.get(manager) ?? []) {
      if (appliedKeys.has(p)) continue;
      const sharedWith = [...owners].some(([m, owned]) => m !== manager && owned.has(p));
      if (!sharedWith) deletePath(live, JSON.parse(p) as string[]);
    }
    for (const [path, value] of applied) setPath(live, path, value);
    owners.set(manager, appliedKeys);
    if (kind.kind === 'Namespace') live.metadata.labels = { ...live.metadata.labels, 'kubernetes.io/metadata.name': name };
    const changed = !existing || JSON.stringify(content(existing.object)) !== JSON.stringify(content(live));
    if (changed) live.metadata.resourceVersion = String(++version);
    live.metadata.uid ??= `uid-${version}`;
    live.metadata.managedFields = [...owners].map(([m, owned]) => ({ manager: m, operation: 'Apply', apiVersion: group, fieldsType: 'FieldsV1', fieldsV1: fieldsV1(owned) }));
    if (!dryRun) objects.set(k, { object: live, owners });
    return [existing ? 200 : 201, live];
  }

  function route(req: IncomingMessage, url: URL, body: string, res: ServerResponse): void {
    const parts = url.pathname.split('/').filter(Boolean);
    const [root, ...rest] = parts;
    const group = root === 'api' ? rest.shift() : root === 'apis' ? `${rest.shift()}/${rest.shift()}` : undefined;
    const kinds = group ? GROUPS[group] : undefined;
    if (!group || !kinds) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (rest.length === 0 && req.method === 'GET') {
      return send(res, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group,
        resources: kinds.map((k) => ({ name: k.plural, singularName: k.kind.toLowerCase(), namespaced: k.namespaced, kind: k.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'] })),
      });
    }
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = decodeURIComponent(rest[1]!);
      rest.splice(0, 2);
    }
    const kind = kinds.find((k) => k.plural === rest[0]);
    if (!kind) return status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const name = rest[1] === undefined ? undefined : decodeURIComponent(rest[1]);
    if (name === undefined) {
      if (req.method !== 'GET') return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported on collections`);
      const items = [...objects.values()]
        .map((s) => s.object)
        .filter((o) => o.apiVersion === group && o.kind === kind.kind && (namespace === undefined || o.metadata.namespace === namespace) && matches(o, url.searchParams.get('labelSelector')));
      return send(res, 200, { apiVersion: group, kind: `${kind.kind}List`, metadata: { resourceVersion: String(version) }, items });
    }
    const k = key(group, kind.kind, namespace, name);
    const dryRun = url.searchParams.get('dryRun') === 'All';
    if (req.method === 'GET') {
      const stored = objects.get(k);
      return stored ? send(res, 200, stored.object) : status(res, 404, 'NotFound', `${kind.plural} "${name}" not found`);
    }
    if (req.method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml') return status(res, 415, 'UnsupportedMediaType', `this fake serves server-side apply only, got ${req.headers['content-type']}`);
      const manager = url.searchParams.get('fieldManager');
      if (!manager) return status(res, 400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      try {
        const [code, object] = apply(group, kind, namespace, name, JSON.parse(body) as Json, manager, url.searchParams.get('force') === 'true', dryRun);
        return send(res, code, object);
      } catch (err) {
        if (Array.isArray(err)) return status(res, err[0] as number, err[1] as string, err[2] as string);
        return status(res, 400, 'BadRequest', (err as Error).message);
      }
    }
    if (req.method === 'DELETE') {
      const stored = objects.get(k);
      if (!stored) return status(res, 404, 'NotFound', `${kind.plural} "${name}" not found`);
      const options = body ? (JSON.parse(body) as Json) : {};
      const wanted = options.preconditions?.resourceVersion;
      if (wanted !== undefined && wanted !== stored.object.metadata.resourceVersion) {
        return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${kind.plural} "${name}": the ResourceVersion in the precondition (${wanted}) does not match the ResourceVersion in record (${stored.object.metadata.resourceVersion}). The object might have been modified`);
      }
      if (!dryRun) {
        objects.delete(k);
        if (kind.kind === 'Namespace') for (const [other, s] of objects) if (s.object.metadata.namespace === name) objects.delete(other);
        version++;
      }
      return send(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: kind.plural } });
    }
    return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported`);
  }

  const server: Server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push(`${req.method} ${url.pathname}`);
      if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
      const failure = failures.findIndex((f) => f.match.test(`${req.method} ${url.pathname}`));
      if (failure >= 0) {
        const [f] = failures.splice(failure, 1);
        return status(res, f!.status, f!.status === 422 ? 'Invalid' : 'Failure', f!.message);
      }
      route(req, url, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    objects,
    requests,
    failNext: (match, code, message) => void failures.push({ match, status: code, message }),
    kubeconfig: (t = token) =>
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: url, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } }],
        users: [{ name: 'ops', user: { token: t } }],
        contexts: [{ name: 'jinbao-fake', context: { cluster: 'fake', user: 'ops' } }],
        'current-context': 'jinbao-fake',
      }),
    applyAs(manager, object) {
      const group = object.apiVersion as string;
      const kind = GROUPS[group]!.find((k) => k.kind === object.kind)!;
      return apply(group, kind, object.metadata.namespace, object.metadata.name, object, manager, true, false)[1];
    },
    get: (apiVersion, kind, name, namespace) => objects.get(key(apiVersion, kind, namespace, name))?.object,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
