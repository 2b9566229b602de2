import cluster from 'node:cluster';
import { createServer, type Server } from 'node:https';
import { createServer as createPlainServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import type { AcmeServer } from '../pki/acme/server.js';
import type { RateBuckets, RateLimit } from '../pki/acme/index.js';
import type { PkiPort } from './pki-port.js';
import type { CmpServer } from '../pki/cmp/server.js';
import { handleAdmin, type AdminOptions } from './admin.js';
import { clusterMetrics } from './cluster.js';

/**
 * The HTTPS front of `jinbao serve`: health and readiness, Prometheus metrics, the ACME server,
 * and revocation data at stable URLs (CRLs, OCSP, CA certificates) for every CA. One JSON line
 * per request goes to the access log. Nothing a client sends can make it answer with a stack
 * trace: unexpected failures are logged and answered with a bare 500.
 *
 * A second, plain-HTTP listener may serve the revocation data alone (RFC 5280 §4.2.1.13 and RFC
 * 6960 expect CRLs and OCSP over http: checking a TLS server must not need revocation data fetched
 * over TLS). It answers /crl/, /ocsp and /ca/ and nothing else; ACME stays on HTTPS.
 */

export interface ServiceOptions {
  readonly acme: AcmeServer;
  readonly pki: PkiPort;
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly host: string;
  readonly port: number;
  /** Where access and error lines go (JSON lines). */
  readonly log: (line: Record<string, unknown>) => void;
  /** Readiness beyond "the store answers". */
  readonly checkDatabase: () => Promise<void>;
  /** @default 64 KiB */
  readonly maxBodyBytes?: number;
  /** Cache-Control max-age of CRLs, in seconds. @default 60 */
  readonly crlMaxAgeSeconds?: number;
  /** A plain-HTTP listener for revocation data only (CRLs, OCSP, CA certificates). @default none */
  readonly http?: { readonly host: string; readonly port: number };
  /** CMP at /cmp/<site> (staff enrollment). */
  readonly cmp?: CmpServer;
  /**
   * CMP requests per client address, taken from `buckets` before the body is read: every CMP
   * answer, refusals included, costs a signature and an audit write. @default no limit
   */
  readonly cmpLimit?: { readonly limit: RateLimit; readonly buckets: RateBuckets };
  /** Client mode (`POST /admin/run`): operators authenticate with client certificates chained to `clientCa` (PEM). */
  readonly admin?: AdminOptions & { readonly clientCa: string };
}

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly registry: Registry;
  /** The plain-HTTP listener's URL and port, when there is one. */
  readonly httpUrl?: string;
  readonly httpPort?: number;
  /** Stop accepting, finish what is in flight (at most `graceMs`), then close. */
  close(graceMs?: number): Promise<void>;
}

const OCSP_MAX_BYTES = 16 * 1024;

/** What a listener serves: everything (HTTPS) or revocation data only (plain HTTP). */
type Scope = 'all' | 'revocation';

/** RFC 9110 §13.1: If-None-Match wins over If-Modified-Since. */
function notModified(req: IncomingMessage, etag: string, lastModified: Date): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => { const v = t.trim().replace(/^W\//, ''); return v === '*' || v === etag; });
  const ims = Date.parse(req.headers['if-modified-since'] ?? '');
  return Number.isFinite(ims) && Math.floor(lastModified.getTime() / 1000) * 1000 <= ims;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The route label for metrics: fixed names, never ids from the path (bounded cardinality). */
function routeOf(path: string): string {
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1);
  if (path.startsWith('/acme/')) {
    const head = path.split('/')[2] ?? '';
    return ['directory', 'new-nonce', 'new-account', 'new-order', 'acct', 'order', 'authz', 'chall', 'cert', 'revoke-cert', 'key-change', 'renewal-info'].includes(head) ? `acme:${head}` : 'acme:other';
  }
  if (path.startsWith('/crl/')) return 'crl';
  if (path.startsWith('/ocsp')) return 'ocsp';
  if (path.startsWith('/cmp/')) return 'cmp';
  if (path === '/admin/run' || path === '/admin/login' || path === '/admin/logout') return 'admin';
  if (path.startsWith('/ca/')) return 'ca';
  return 'other';
}

export async function startService(o: ServiceOptions): Promise<RunningService> {
  const registry = new Registry();
  const requests = new Counter({ name: 'jinbao_serve_requests_total', help: 'HTTP requests answered by jinbao serve', labelNames: ['route', 'status'], registers: [registry] });
  const duration = new Histogram({ name: 'jinbao_serve_request_duration_seconds', help: 'Time to answer a request', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] });
  const problems = new Counter({ name: 'jinbao_acme_problems_total', help: 'ACME requests refused, by RFC 8555 error type', labelNames: ['type'], registers: [registry] });
  const issued = new Counter({ name: 'jinbao_acme_certificates_issued_total', help: 'Certificates issued through ACME finalize', registers: [registry] });
  // with --workers N, /metrics sums every worker's (the primary collects them)
  const metrics = cluster.isWorker ? clusterMetrics(registry) : () => registry.metrics();
  const maxBody = o.maxBodyBytes ?? 64 * 1024;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const send = (res: ServerResponse, status: number, headers: Record<string, string | number>, body: string | Buffer = '') => {
    if (res.headersSent) return void res.end();
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': buf.length, ...(draining ? { connection: 'close' } : {}) });
    res.end(buf);
  };

  const problemBody = (status: number, detail: string) => JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail, status });

  async function route(req: IncomingMessage, res: ServerResponse, path: string, scope: Scope): Promise<string | undefined> {
    const method = req.method ?? 'GET';
    if (await revocation(req, res, path, method)) return undefined;
    if (scope === 'revocation') return void send(res, 404, { 'content-type': 'text/plain' }, 'not found: this listener serves /crl/, /ocsp and /ca/ only\n');
    if (path === '/healthz') return void send(res, 200, { 'content-type': 'text/plain' }, 'ok\n');
    if (path === '/readyz') {
      if (draining) return void send(res, 503, { 'content-type': 'text/plain' }, 'shutting down\n');
      try {
        await o.checkDatabase();
        if (!(await o.pki.ready())) throw new Error('no CA hierarchy');
        return void send(res, 200, { 'content-type': 'text/plain' }, 'ready\n');
      } catch {
        return void send(res, 503, { 'content-type': 'text/plain' }, 'not ready: the state store does not answer\n');
      }
    }
    if (path === '/metrics') return void send(res, 200, { 'content-type': registry.contentType }, await metrics());
    if (path === '/acme' || path.startsWith('/acme/')) {
      let body: Buffer;
      try {
        body = method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        problems.inc({ type: 'malformed' });
        send(res, 413, { 'content-type': 'application/problem+json', connection: 'close' }, problemBody(413, `request body: got more than ${maxBody} bytes, want at most ${maxBody}`));
        req.destroy();
        return 'malformed';
      }
      const r = await o.acme.handle({ method, path, contentType: req.headers['content-type'], body, remoteAddress: req.socket.remoteAddress ?? '' });
      if (r.problem) problems.inc({ type: r.problem });
      if (path.endsWith('/finalize') && r.status === 200) issued.inc();
      send(res, r.status, r.headers, method === 'HEAD' ? '' : r.body);
      return r.problem;
    }
    const cmp = /^\/cmp\/([A-Za-z0-9-]{1,64})$/.exec(path);
    if (cmp && o.cmp) {
      if (method !== 'POST') return void send(res, 405, { allow: 'POST', 'content-type': 'text/plain' }, 'CMP over HTTP takes POST (RFC 6712)\n');
      if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/pkixcmp') return void send(res, 415, { 'content-type': 'text/plain' }, 'content-type: want application/pkixcmp (RFC 6712)\n');
      if (o.cmpLimit) {
        const remote = req.socket.remoteAddress ?? '';
        const taken = await o.cmpLimit.buckets.take(`cmp-address:${remote}`, o.cmpLimit.limit);
        if (!taken.ok) {
          const wait = taken.retryAfterSeconds ?? 1;
          // An HTTP-level refusal (RFC 6712 §3.6): no PKIMessage, so no signature and no audit entry.
          send(res, 429, { 'content-type': 'text/plain', 'retry-after': String(wait), 'cache-control': 'no-store', connection: 'close' }, `too many CMP requests from ${remote}: the limit is ${o.cmpLimit.limit.perMinute} a minute; retry after ${wait} s\n`);
          return 'cmp:rate-limited';
        }
      }
      let body: Buffer;
      try {
        body = await readBody(req, maxBody);
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        send(res, 413, { 'content-type': 'text/plain', connection: 'close' }, `request body: got more than ${maxBody} bytes, want at most ${maxBody}\n`);
        req.destroy();
        return 'cmp:too-large';
      }
      const r = await o.cmp.handle(cmp[1]!, body);
      send(res, r.status, { 'content-type': r.status === 200 ? 'application/pkixcmp' : 'text/plain', 'cache-control': 'no-store' }, r.body);
      return r.refused ? `cmp:${r.outcome}` : undefined;
    }
    if (path.startsWith('/admin/') && method === 'POST' && o.admin) return handleAdmin(req, res, o.admin, path);
    send(res, 404, { 'content-type': 'text/plain' }, 'not found\n');
    return undefined;
  }

  /** CRLs, CA certificates and OCSP; false when `path` is none of them. */
  async function revocation(req: IncomingMessage, res: ServerResponse, path: string, method: string): Promise<boolean> {
    // /crl/<ca-id>.crl (the complete CRL) or /crl/<ca-id>/<n>.crl (partition n), each with its -delta.crl.
    const crl = /^\/crl\/([a-z0-9-]{1,64}?)(?:\/(0|[1-9][0-9]{0,8}))?(-delta)?\.crl$/.exec(path);
    if (crl && (method === 'GET' || method === 'HEAD')) {
      const partition = crl[2] === undefined ? undefined : Number(crl[2]);
      const served = await o.pki.crl(crl[1]!, crl[3] ? 'delta' : 'full', partition);
      if (!served) return void send(res, 404, { 'content-type': 'text/plain' }, partition === undefined ? `no CA ${crl[1]}\n` : `no CRL partition ${partition} of CA ${crl[1]}\n`), true;
      const headers = {
        'content-type': 'application/pkix-crl',
        'cache-control': `max-age=${o.crlMaxAgeSeconds ?? 60}`,
        etag: `"${crl[1]}${partition === undefined ? '' : `.${partition}`}-${served.number}"`,
        'last-modified': served.thisUpdate.toUTCString(),
        expires: served.nextUpdate.toUTCString(),
      };
      if (notModified(req, headers.etag, served.thisUpdate)) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      send(res, 200, headers, method === 'HEAD' ? Buffer.alloc(0) : served.der);
      return true;
    }
    const caCert = /^\/ca\/([a-z0-9-]{1,64})\.(crt|pem)$/.exec(path);
    if (caCert && method === 'GET') {
      const ca = await o.pki.caCertificate(caCert[1]!);
      if (!ca) return void send(res, 404, { 'content-type': 'text/plain' }, `no CA ${caCert[1]}\n`), true;
      if (caCert[2] === 'crt') return void send(res, 200, { 'content-type': 'application/pkix-cert' }, Buffer.from(ca.der)), true;
      send(res, 200, { 'content-type': 'application/x-pem-file' }, `-----BEGIN CERTIFICATE-----\n${Buffer.from(ca.der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`);
      return true;
    }
    if (path === '/ocsp' || path.startsWith('/ocsp/')) return void (await ocsp(req, res, path.slice('/ocsp'.length).replace(/^\//, ''), method)), true;
    return false;
  }

  /** /ocsp (any CA) or /ocsp/<ca-id>; GET carries the base64 request as the next path segment, POST in the body. */
  async function ocsp(req: IncomingMessage, res: ServerResponse, rest: string, method: string): Promise<void> {
    const cas = await o.pki.caIds();
    const [first, ...more] = rest.split('/');
    const caId = first && cas.has(first) ? first : undefined;
    const encoded = (caId ? more.join('/') : rest) || '';
    let der: Buffer;
    if (method === 'POST') {
      try {
        der = await readBody(req, OCSP_MAX_BYTES);
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
        der = Buffer.alloc(0);
      }
      if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/ocsp-request') der = Buffer.alloc(0);
    } else if (method === 'GET') {
      try {
        der = Buffer.from(decodeURIComponent(encoded), 'base64');
      } catch {
        der = Buffer.alloc(0);
      }
    } else return void send(res, 405, { allow: 'GET, POST' });
    if (first && !caId && method === 'POST') return void send(res, 404, { 'content-type': 'text/plain' }, `no CA ${first.slice(0, 64)}\n`);
    const answer = await o.pki.ocsp(der, caId);
    if (!answer) return void send(res, 404, { 'content-type': 'text/plain' }, 'no such CA\n');
    send(res, 200, { 'content-type': 'application/ocsp-response' }, answer);
  }

  const onRequest = (scope: Scope) => (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    inFlight++;
    const path = (req.url ?? '/').split('?')[0]!;
    const label = routeOf(path);
    let problem: string | undefined;
    route(req, res, path, scope)
      .then((p) => void (problem = p))
      .catch((err: unknown) => {
        o.log({ at: new Date().toISOString(), level: 'error', msg: 'request failed', path: path.slice(0, 200), error: (err as Error)?.message, stack: (err as Error)?.stack });
        send(res, 500, { 'content-type': 'text/plain' }, 'internal error\n');
      })
      .finally(() => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        requests.inc({ route: label, status: String(res.statusCode) });
        duration.observe({ route: label }, seconds);
        o.log({
          at: new Date().toISOString(),
          remote: req.socket.remoteAddress,
          method: req.method,
          path: path.length > 200 ? `${path.slice(0, 200)}…` : path,
          status: res.statusCode,
          ms: Math.round(seconds * 1e4) / 10,
          ...(problem ? { problem } : {}),
          ua: String(req.headers['user-agent'] ?? '').slice(0, 120),
        });
        if (--inFlight === 0) idle?.();
      });
  };
  // Client certificates are asked for, never required: ACME and revocation clients have none; only
  // /admin/run insists on one that chains to the jinbao root.
  const clientAuth = o.admin ? { requestCert: true, rejectUnauthorized: false, ca: o.admin.clientCa } : {};
  const server: Server = createServer({ key: o.tls.keyPem, cert: o.tls.certPem, ...clientAuth }, onRequest('all'));
  const plain = o.http ? createPlainServer(onRequest('revocation')) : undefined;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.on('tlsClientError', () => undefined);
  const listen = (srv: Server | ReturnType<typeof createPlainServer>, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  const urlOf = (scheme: string, addr: AddressInfo) => `${scheme}://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  await listen(server, o.port, o.host);
  if (plain && o.http) {
    plain.headersTimeout = server.headersTimeout;
    plain.requestTimeout = server.requestTimeout;
    plain.keepAliveTimeout = server.keepAliveTimeout;
    try {
      await listen(plain, o.http.port, o.http.host);
    } catch (err) {
      server.close();
      throw err;
    }
  }
  const addr = server.address() as AddressInfo;
  const plainAddr = plain?.address() as AddressInfo | undefined;
  return {
    url: urlOf('https', addr),
    port: addr.port,
    registry,
    ...(plainAddr ? { httpUrl: urlOf('http', plainAddr), httpPort: plainAddr.port } : {}),
    close: async (graceMs = 10_000) => {
      draining = true;
      const closed = Promise.all([server, ...(plain ? [plain] : [])].map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
      server.closeIdleConnections();
      plain?.closeIdleConnections();
      const quiet = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([quiet, o.acme.drain()]), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs).unref()))]);
      if (timer) clearTimeout(timer);
      server.closeAllConnections();
      plain?.closeAllConnections();
      await closed;
    },
  };
}
