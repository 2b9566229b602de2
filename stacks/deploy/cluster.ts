import { ApiException, dumpYaml, KubeConfig, KubernetesObjectApi, loadYaml, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { existsSync } from 'node:fs';
import { InputError, JinbaoError, UnavailableError, ExitCode } from '../../lib/errors.js';
import { objectRef, type KubeObject } from '../render/index.js';
import { inputError, unavailableError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';

/** An object as the API server holds it: the desired shape plus server-set metadata. */
export type LiveObject = KubeObject & { readonly metadata: { readonly resourceVersion?: string; readonly uid?: string } };

/** A refusal from the API server, with its HTTP status and the server's own message. */
export class ClusterError extends JinbaoError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message, { exitCode: status >= 500 ? ExitCode.unavailable : ExitCode.invalidInput });
    this.name = 'ClusterError';
    this.status = status;
  }
}

/** The port `plan` and `apply` talk through; tests may swap it, the real one is `connectCluster`. */
export interface Cluster {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly context: string;
  read(o: KubeObject): Promise<LiveObject | undefined>;
  /** Every object of `o`'s kind matching `labelSelector`, in all namespaces. */
  list(apiVersion: string, kind: KubeObject['kind'], labelSelector: string): Promise<LiveObject[]>;
  /** Server-side apply with field manager `jinbao`. */
  apply(o: KubeObject, opts: { readonly dryRun: boolean; readonly force: boolean }): Promise<LiveObject>;
  /** Delete, only if the object still has `resourceVersion`. */
  remove(o: KubeObject, opts: { readonly dryRun: boolean; readonly resourceVersion?: string }): Promise<void>;
}

export const FIELD_MANAGER = 'jinbao';

/** Open the cluster a kubeconfig names (its current context, or `context`). */
export function connectCluster(kubeconfigFile: string, context?: string): Cluster {
  if (!existsSync(kubeconfigFile)) throw inputError(STACKS_MESSAGES, 'kubeconfig.missing', { file: kubeconfigFile });
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(kubeconfigFile);
  } catch (err) {
    throw inputError(STACKS_MESSAGES, 'kubeconfig.unreadable', { file: kubeconfigFile, reason: (err as Error).message }, { cause: err });
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context)) throw inputError(STACKS_MESSAGES, 'kubeconfig.noContext', { file: kubeconfigFile, context, contexts: kc.getContexts().map((c) => c.name).join(', ') || 'none' });
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw inputError(STACKS_MESSAGES, 'kubeconfig.noCluster', { file: kubeconfigFile, context: kc.getCurrentContext() });
  const api = KubernetesObjectApi.makeApiClient(kc);
  const server = cluster.server;
  const ctxName = kc.getCurrentContext();

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, what, server, ctxName);
    }
  };
  // client-node's typed models rename fields that are reserved words (a NetworkPolicy peer's `from`
  // is `_from`) and drop what they do not know: objects cross that boundary only through its own
  // (de)serializer, or a plain `from` would be silently left out of the request.
  const plain = (o: KubernetesObject) => parseYaml(dumpYaml(o)) as LiveObject;
  const typed = (o: KubeObject) => loadYaml<KubernetesObject>(JSON.stringify(o));
  return {
    server,
    context: ctxName,
    read: (o) =>
      call(`read ${objectRef(o)}`, async () => {
        try {
          return plain(await api.read(header(o)));
        } catch (err) {
          if (err instanceof ApiException && err.code === 404) return undefined;
          throw err;
        }
      }),
    list: (apiVersion, kind, labelSelector) =>
      call(`list ${kind}`, async () => (await api.list(apiVersion, kind, undefined, undefined, undefined, undefined, undefined, labelSelector)).items.map(plain)),
    apply: (o, opts) =>
      call(`apply ${objectRef(o)}`, async () =>
        plain(await api.patch(typed(o), undefined, opts.dryRun ? 'All' : undefined, FIELD_MANAGER, opts.force, PatchStrategy.ServerSideApply)),
      ),
    remove: (o, opts) =>
      call(`delete ${objectRef(o)}`, async () => {
        await api.delete(header(o), undefined, opts.dryRun ? 'All' : undefined, undefined, undefined, 'Background', opts.resourceVersion ? { preconditions: { resourceVersion: opts.resourceVersion } } : undefined);
      }),
  };
}

function header(o: KubeObject): KubernetesObject & { metadata: { name: string; namespace: string } } {
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } } as KubernetesObject & {
    metadata: { name: string; namespace: string };
  };
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH']);

function networkCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; errno?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    const m = /\b(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|ENETUNREACH)\b/.exec(String((e as Error).message ?? ''));
    if (m) return m[1];
  }
  return undefined;
}

/** Turn client and server failures into messages that say what happened and what to do. */
function translate(err: unknown, what: string, server: string, context: string): Error {
  if (err instanceof ApiException) {
    const body = (typeof err.body === 'string' ? safeJson(err.body) : err.body) as { message?: string } | undefined;
    const said = body?.message ?? String(err.body ?? err.message);
    if (err.code === 401) return new ClusterError(401, `the API server ${server} rejected the credentials of context "${context}" (401 Unauthorized); refresh the token or certificate in the kubeconfig`);
    if (err.code === 403) return new ClusterError(403, `the API server ${server} forbids context "${context}" to ${what} (403 Forbidden): ${said}`);
    return new ClusterError(err.code, `${what}: the API server answered ${err.code}: ${said}`);
  }
  const code = networkCode(err);
  if (code) return unavailableError(STACKS_MESSAGES, 'cluster.unreachable', { server, context, code }, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
