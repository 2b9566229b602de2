/**
 * `jinbao serve`: the certificate service servers and clusters enroll against. It composes the
 * HTTPS listener, the ACME protocol adapter (pki/acme/), revocation at stable URLs and the PKI port
 * (service/pki-port.ts, the only door to issuance, revocation and the audit log).
 */
import { isIP } from 'node:net';
import type { OpsContext } from '../orchestration/index.js';
import { AcmeServer, AcmeStore, createEab, defaultBurst, LocalRateBuckets, NetworkValidator, type AcmeLimits, type ChallengeValidator, type RateBuckets, type EabKey } from '../pki/acme/index.js';
import { CmpServer, CmpStore, openCmpKeyring } from '../pki/cmp/index.js';
import { toPem, type CaSigner } from '../pki/index.js';
import { DEFAULT_AUTH_POLICY, type AuthPolicy } from '../operators/index.js';
import { renewalRefusal } from '../staff/index.js';
import type { CommandLineRunner } from './admin.js';
import { startService, type RunningService } from './http.js';
import { appendAuditEntry, PkiPort } from './pki-port.js';
import { inputError } from '../lib/i18n/index.js';
import { SERVICE_MESSAGES } from './messages.js';

export { PkiPort, appendAuditEntry, type CaCertificate, type PkiPortOptions } from './pki-port.js';
export { startService, type RunningService, type ServiceOptions } from './http.js';
export { clusterBuckets, isServeWorker, runPrimary, workerChannel, type Primary, type ServiceTls, type WorkerListening } from './cluster.js';
export { startSealed, unsealFirst, type SealedOptions, type SealedService, type Unsealed } from './seal.js';
export { auditCsv, auditRecord, csvField, type AuditRecord } from './audit-export.js';
export { actorOf, handleAdmin, parseOperatorActor, PENDING_APPROVAL_EXIT, type AdminOptions, type CommandLineRunner } from './admin.js';

export interface ServeRequest {
  readonly host: string;
  readonly port: number;
  /** https://name:port the clients use; default https://<host>:<port>. */
  readonly publicUrl?: string;
  /** A plain-HTTP listener for revocation data only (CRLs, OCSP, CA certificates). @default none */
  readonly httpListen?: { readonly host: string; readonly port: number };
  /**
   * The base of the CRL, OCSP and CA-certificate URLs in issued certificates and CRLs.
   * @default http://<public-url host>:<http port> with httpListen, else the public URL
   */
  readonly revocationUrl?: string;
  /** PEM; both or neither. Without them the service issues its own from the infrastructure CA. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  /** The site the service's own certificate belongs to. @default the ministry site */
  readonly tlsSite?: string;
  readonly passphrase: string;
  /** CA keys already opened with the passphrase (unsealing): handed to the PKI port, not opened again. */
  readonly signers?: ReadonlyMap<string, CaSigner>;
  /** Labs and tests only: names resolved from this map during validation. */
  readonly acmeHosts?: ReadonlyMap<string, string>;
  /** Labs and tests only: the port http-01 fetches from. @default 80 */
  readonly acmeHttpPort?: number;
  /** Labs and tests only: the port tls-alpn-01 connects to. @default 443 */
  readonly acmeTlsPort?: number;
  readonly acmeDnsServers?: readonly string[];
  readonly validityDays?: number;
  readonly limits?: AcmeLimits;
  /** Where the ACME and CMP rate-limit buckets live (a worker of `--workers N`: the primary's). @default this process */
  readonly rateBuckets?: RateBuckets;
  /** CMP requests a minute per client address. @default 600 */
  readonly cmpPerAddressPerMinute?: number;
  /** Replace the network validator (tests, benchmark). */
  readonly validator?: ChallengeValidator;
  /** How often expired orders are swept and dead finalize calls recovered. @default 60000 */
  readonly sweepIntervalMs?: number;
  /** Run the periodic ACME expiry sweep in this process (with `--workers N`, one worker does). @default true */
  readonly sweep?: boolean;
  readonly log: (line: Record<string, unknown>) => void;
  /** Client mode: run operators' command lines (the CLI's entry) with these global arguments and environment. */
  readonly admin?: { readonly run: CommandLineRunner; readonly globalArgs: readonly string[]; readonly env: NodeJS.ProcessEnv; readonly seal?: (actor: string) => Promise<void>; /** @default DEFAULT_AUTH_POLICY */ readonly auth?: AuthPolicy };
}

export interface RunningServe {
  readonly service: RunningService;
  readonly publicUrl: string;
  /** The base of the revocation URLs in what the service issues. */
  readonly revocationUrl: string;
  readonly directoryUrl: string;
  readonly tlsSerial: string | null;
  /** Whether tlsSerial is a certificate an earlier start issued (still valid for over a third of its life). */
  readonly tlsReused: boolean;
  readonly acme: AcmeServer;
  readonly cmp: CmpServer;
  readonly pki: PkiPort;
  close(graceMs?: number): Promise<void>;
}

function defaultPublicUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `https://${isIP(h) === 6 ? `[${h}]` : h}:${port}`;
}

function resolveRevocationUrl(r: ServeRequest, publicUrl: URL): string {
  if (r.revocationUrl === undefined) {
    if (!r.httpListen) return publicUrl.origin;
    if (r.httpListen.port === 0) throw inputError(SERVICE_MESSAGES, 'serve.httpPortZero');
    return `http://${publicUrl.hostname}${r.httpListen.port === 80 ? '' : `:${r.httpListen.port}`}`;
  }
  const text = r.revocationUrl.replace(/\/+$/, '');
  let u: URL | undefined;
  try {
    u = new URL(text);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search || u.hash) {
    throw inputError(SERVICE_MESSAGES, 'serve.revocationUrl', { url: r.revocationUrl });
  }
  return text;
}

interface Opened {
  readonly fabric: ReturnType<OpsContext['fabric']>;
  readonly publicUrl: string;
  readonly revocationUrl: string;
  readonly pki: PkiPort;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly tlsSerial: string | null;
  readonly tlsReused: boolean;
}

/** Check the URLs, unlock the CA keys, and get a TLS certificate unless one was given. */
async function openServe(ctx: OpsContext, r: ServeRequest): Promise<Opened> {
  const fabric = ctx.fabric();
  if (r.port === 0 && r.publicUrl === undefined) throw inputError(SERVICE_MESSAGES, 'serve.portZero');
  const publicUrl = (r.publicUrl ?? defaultPublicUrl(r.host, r.port)).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(publicUrl);
  } catch {
    throw inputError(SERVICE_MESSAGES, 'serve.publicUrl', { url: publicUrl });
  }
  if (parsed.protocol !== 'https:' || parsed.pathname !== '/' || parsed.search || parsed.hash) throw inputError(SERVICE_MESSAGES, 'serve.publicUrlPath', { url: publicUrl });
  const revocationUrl = resolveRevocationUrl(r, parsed);
  const pki = await PkiPort.open(ctx, fabric, r.passphrase, { revocationUrl, ...(r.signers ? { signers: r.signers } : {}) });
  // An explicit --public-url is what clients use: staff enroll --method cmp and cmp secret create hand it out.
  if (r.publicUrl !== undefined) await pki.recordPublicUrl(publicUrl);
  await pki.unlock();
  if (r.tls) return { fabric, publicUrl, revocationUrl, pki, tls: r.tls, tlsSerial: null, tlsReused: false };
  const site = r.tlsSite ?? fabric.sites.find((s) => s.tier === 'ministry')?.id ?? fabric.sites[0]!.id;
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  const ipv4 = isIP(hostname) === 4;
  const own = await pki.serviceTls({ site, dns: ipv4 || isIP(hostname) === 6 ? ['localhost'] : [hostname], ip: ipv4 ? [hostname] : [], actor: 'jinbao-serve' });
  return { fabric, publicUrl, revocationUrl, pki, tls: { certPem: own.certPem, keyPem: own.keyPem }, tlsSerial: own.serial, tlsReused: own.reused };
}

/**
 * What the primary of `serve --workers N` does before forking: the same checks and key unlock as
 * startServe, and the one TLS certificate all workers share. Nothing listens.
 */
export async function prepareServe(ctx: OpsContext, r: ServeRequest): Promise<{ tls: Opened['tls']; tlsSerial: string | null; tlsReused: boolean; publicUrl: string; revocationUrl: string; directoryUrl: string }> {
  const o = await openServe(ctx, r);
  await warnOnSplitBase(o, r);
  return { tls: o.tls, tlsSerial: o.tlsSerial, tlsReused: o.tlsReused, publicUrl: o.publicUrl, revocationUrl: o.revocationUrl, directoryUrl: `${o.publicUrl}/acme/directory` };
}

async function warnOnSplitBase(o: Opened, r: ServeRequest): Promise<void> {
  const hierarchyBase = await o.pki.distributionBase();
  if (hierarchyBase === o.revocationUrl) return;
  r.log({ at: new Date().toISOString(), level: 'warn', msg: `certificates issued here name ${o.revocationUrl} for revocation data while the CA certificates name ${hierarchyBase} (pki init --distribution-base): relying parties need both to reach this service; pass --revocation-url ${hierarchyBase} if it does` });
}

/** Start the service: unlock the CA keys, get a TLS certificate, migrate the ACME tables, listen. */
export async function startServe(ctx: OpsContext, r: ServeRequest & { readonly quiet?: boolean }): Promise<RunningServe> {
  const opened = await openServe(ctx, r);
  if (!r.quiet) await warnOnSplitBase(opened, r);
  const { fabric, publicUrl, revocationUrl, pki, tls, tlsSerial, tlsReused } = opened;
  const db = await ctx.database();
  const store = await AcmeStore.open(db);
  const buckets = r.rateBuckets ?? new LocalRateBuckets();
  const cmpPerMinute = r.cmpPerAddressPerMinute ?? 600;
  const acme = new AcmeServer({
    store,
    ca: pki,
    fabric,
    validator: r.validator ?? new NetworkValidator({ ...(r.acmeHttpPort !== undefined ? { httpPort: r.acmeHttpPort } : {}), ...(r.acmeTlsPort !== undefined ? { tlsPort: r.acmeTlsPort } : {}), ...(r.acmeHosts ? { hosts: r.acmeHosts } : {}), ...(r.acmeDnsServers ? { dnsServers: r.acmeDnsServers } : {}) }),
    publicUrl,
    passphrase: r.passphrase,
    ...(r.validityDays !== undefined ? { validityDays: r.validityDays } : {}),
    ...(r.limits ? { limits: r.limits } : {}),
    buckets,
    onInternalError: (err, req) => r.log({ at: new Date().toISOString(), level: 'error', msg: 'ACME request failed', path: req.path.slice(0, 200), error: (err as Error)?.message, stack: (err as Error)?.stack }),
  });
  const cmp = new CmpServer({
    store: await CmpStore.open(db),
    ca: pki,
    fabric,
    keyring: await openCmpKeyring(r.passphrase),
    renewalRefusal: (holder) => renewalRefusal(ctx, holder),
    onInternalError: (err) => r.log({ at: new Date().toISOString(), level: 'error', msg: 'CMP request failed', error: (err as Error)?.message, stack: (err as Error)?.stack }),
  });
  const sweep = async () => {
    try {
      const s = await acme.sweep();
      if (s.expiredOrders || s.expiredAuthorizations || s.recovered) r.log({ at: new Date().toISOString(), level: 'info', msg: 'ACME sweep', ...s });
    } catch (err) {
      r.log({ at: new Date().toISOString(), level: 'error', msg: 'ACME sweep failed', error: (err as Error)?.message, stack: (err as Error)?.stack });
    }
    try {
      const retired = await pki.retireFinishedCas();
      if (retired.length) r.log({ at: new Date().toISOString(), level: 'info', msg: 'CAs retired: their last certificate has expired', cas: retired });
    } catch (err) {
      r.log({ at: new Date().toISOString(), level: 'error', msg: 'CA retirement sweep failed', error: (err as Error)?.message, stack: (err as Error)?.stack });
    }
  };
  let sweeper: NodeJS.Timeout | undefined;
  if (r.sweep !== false) {
    await sweep();
    sweeper = setInterval(() => void sweep(), r.sweepIntervalMs ?? 60_000);
    sweeper.unref();
  }
  let service: RunningService;
  try {
    const root = r.admin ? await pki.caCertificate('root') : undefined;
    const admin = r.admin && root ? { ...r.admin, auth: r.admin.auth ?? DEFAULT_AUTH_POLICY, ctx, clientCa: toPem(root.der) } : undefined;
    service = await startService({ acme, cmp, pki, tls, host: r.host, port: r.port, ...(r.httpListen ? { http: r.httpListen } : {}), cmpLimit: { limit: { perMinute: cmpPerMinute, burst: defaultBurst(cmpPerMinute) }, buckets }, log: r.log, checkDatabase: async () => void (await db.query('SELECT 1 AS one')), ...(admin ? { admin } : {}) });
  } catch (err) {
    clearInterval(sweeper);
    throw r.httpListen
      ? inputError(SERVICE_MESSAGES, 'serve.listenBoth', { host: r.host, port: r.port, httpHost: r.httpListen.host, httpPort: r.httpListen.port, why: (err as Error).message }, { cause: err })
      : inputError(SERVICE_MESSAGES, 'serve.listen', { host: r.host, port: r.port, why: (err as Error).message }, { cause: err });
  }
  return { service, publicUrl, revocationUrl, directoryUrl: `${publicUrl}/acme/directory`, tlsSerial, tlsReused, acme, cmp, pki, close: (graceMs) => (clearInterval(sweeper), service.close(graceMs)) };
}

/** `jinbao acme eab create`: a new EAB key for a site, recorded in the audit log (never the HMAC key). */
export async function createEabAudited(ctx: OpsContext, passphrase: string, opts: { site: string; application?: string; validityDays?: number; actor?: string }): Promise<EabKey> {
  const key = await createEab(ctx, ctx.fabric(), passphrase, opts);
  await appendAuditEntry(ctx, { action: 'acme.eab.create', outcome: 'ok', subject: key.kid, ...(opts.actor ? { actor: opts.actor } : {}), details: { site: key.site, application: key.application, expiresAt: key.expiresAt } });
  return key;
}
