import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MalformedOcspRequest,
  matchAuthority,
  parseOcspRequest,
  signedResponse,
  statusOnlyResponse,
  type CertStatus,
  type OcspAuthority,
} from './ocsp.js';
import type { RevocationRegistry } from './ports.js';

export interface OcspResponderProps {
  readonly authorities: readonly OcspAuthority[];
  /** Where statuses come from: the certificate store (any process may revoke in it). */
  readonly registry: Pick<RevocationRegistry, 'findCertificate' | 'findCaBySerial' | 'getCa' | 'revocationSeq'>;
  /** nextUpdate of answers, in seconds. @default 3600 */
  readonly validitySeconds?: number;
  /** How long a signed answer is served again before re-signing, in seconds. @default 60 */
  readonly cacheTtlSeconds?: number;
  /** @default 50_000 */
  readonly maxCacheEntries?: number;
  /** Switch the answer cache off (the benchmark's baseline). @default true */
  readonly cache?: boolean;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /**
   * A cheaper gate in front of the revocation sequence: a value that changes whenever anything
   * commits to the store (`Database.changeMark`: SQLite's `PRAGMA data_version` for other
   * connections' commits, plus this connection's own commit count). While it is unchanged the
   * sequence is not read.
   * @default none: the revocation sequence is read on every request
   */
  readonly changeCounter?: () => number | string | Promise<number | string>;
}

export interface OcspResponderStats {
  requests: number;
  cacheHits: number;
  malformed: number;
  internalErrors: number;
  cacheResets: number;
  /** Certificate statuses answered from the status cache (no store lookup). */
  statusHits: number;
}

interface Cached {
  readonly body: Buffer;
  readonly expires: number;
}

/**
 * An RFC 6960 responder over the certificate store. It answers for the certificates its CAs
 * signed: end-entity certificates and, for a parent CA such as the root, the certificates of the
 * CAs below it (a revoked issuing CA is reported by its parent's responder). Once its own CA is
 * revoked, it answers "revoked" (with the CA's time and reason) for everything that CA issued.
 *
 * Signed answers to nonce-less requests are cached by the request bytes (clients such as browsers
 * and RFC 5019 profiles send identical requests). Before each answer the responder reads the
 * store's revocation sequence: one indexed single-row SELECT (microseconds on SQLite, a round trip
 * on PostgreSQL), which sees commits of any process; with `changeCounter` it does so only when
 * the store reports a commit since the last read. When the sequence moved, the whole cache is dropped, so a revocation is visible to
 * the very next request. A TTL alone would leave a window in which a revoked certificate is reported good;
 * this check closes it at a cost far below one signature. Answers with a nonce are signed fresh
 * every time (the nonce is inside the signed data), but the statuses they report come from a
 * status cache under the same rule (dropped when the sequence moves), so a nonce request costs a
 * signature and no lookup; "unknown" answers and statuses are never cached because a certificate
 * may be issued a moment later.
 */
export class OcspResponder {
  readonly stats: OcspResponderStats = { requests: 0, cacheHits: 0, malformed: 0, internalErrors: 0, cacheResets: 0, statusHits: 0 };
  private readonly props: OcspResponderProps;
  private readonly cache = new Map<string, Cached>();
  /** "good" and "revoked" statuses by CA and serial, valid as long as the revocation sequence. */
  private readonly statuses = new Map<string, CertStatus>();
  private seenSeq = -1;
  private seenChange: number | string | undefined;

  constructor(props: OcspResponderProps) {
    if (props.authorities.length === 0) throw new Error('an OCSP responder needs at least one CA to answer for');
    this.props = props;
  }

  /** Answer one DER request; never throws (bad input → malformedRequest, failures → internalError). */
  async respond(request: Uint8Array, cacheKey?: string): Promise<Buffer> {
    this.stats.requests++;
    const now = (this.props.clock ?? (() => new Date()))();
    let useCache = this.props.cache ?? true;
    try {
      if (useCache) {
        const change = await this.props.changeCounter?.();
        if (change === undefined || change !== this.seenChange) {
          const seqNow = await this.props.registry.revocationSeq();
          if (seqNow !== this.seenSeq) {
            if (this.cache.size > 0 || this.statuses.size > 0) this.stats.cacheResets++;
            this.cache.clear();
            this.statuses.clear();
            this.seenSeq = seqNow;
          }
          // Only now: had the read failed, the next request must read again.
          this.seenChange = change;
        }
        cacheKey ??= Buffer.from(request).toString('base64');
        const hit = this.cache.get(cacheKey);
        if (hit !== undefined && hit.expires > now.getTime()) {
          this.stats.cacheHits++;
          return hit.body;
        }
      }
      const parsed = parseOcspRequest(request);
      let authority: OcspAuthority | undefined;
      const answers = [];
      for (const id of parsed.certIds) {
        const a = matchAuthority(this.props.authorities, id);
        // One response has one signer: every CertID must name the same CA we serve.
        if (a === undefined || (authority !== undefined && a !== authority)) return statusOnlyResponse('unauthorized');
        authority = a;
        answers.push({ certId: id.der, status: await this.cachedStatus(a, id.serial, useCache) });
      }
      const producedAt = new Date(Math.floor(now.getTime() / 1000) * 1000);
      const nextUpdate = new Date(producedAt.getTime() + (this.props.validitySeconds ?? 3600) * 1000);
      const body = await signedResponse(authority!, answers, { producedAt, nextUpdate, ...(parsed.nonce ? { nonce: parsed.nonce } : {}) });
      useCache &&= parsed.nonce === undefined && answers.every((a) => a.status.kind !== 'unknown');
      if (useCache && cacheKey !== undefined) {
        if (this.cache.size >= (this.props.maxCacheEntries ?? 50_000)) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(cacheKey, { body, expires: now.getTime() + (this.props.cacheTtlSeconds ?? 60) * 1000 });
      }
      return body;
    } catch (err) {
      if (err instanceof MalformedOcspRequest) {
        this.stats.malformed++;
        return statusOnlyResponse('malformedRequest');
      }
      this.stats.internalErrors++;
      return statusOnlyResponse('internalError');
    }
  }

  /**
   * The status from the status cache when caching is on: a nonce request needs a fresh signature
   * but not a fresh lookup, since the cache is dropped whenever the revocation sequence moves.
   * "unknown" is never kept (the certificate may be issued a moment later).
   */
  private async cachedStatus(authority: OcspAuthority, serial: string, useCache: boolean): Promise<CertStatus> {
    if (!useCache) return this.status(authority, serial);
    const key = `${authority.caId}\u0000${serial}`;
    const known = this.statuses.get(key);
    if (known !== undefined) {
      this.stats.statusHits++;
      return known;
    }
    const seq = this.seenSeq;
    const status = await this.status(authority, serial);
    // A revocation seen meanwhile cleared the map: this lookup may predate it, so keep nothing.
    if (status.kind !== 'unknown' && seq === this.seenSeq) {
      if (this.statuses.size >= (this.props.maxCacheEntries ?? 50_000)) this.statuses.delete(this.statuses.keys().next().value!);
      this.statuses.set(key, status);
    }
    return status;
  }

  private async status(authority: OcspAuthority, serial: string): Promise<CertStatus> {
    const cert = await this.props.registry.findCertificate(serial);
    // Not an end-entity certificate: perhaps the certificate of a CA this authority signed.
    const ca = cert === undefined ? await this.props.registry.findCaBySerial?.(serial) : undefined;
    const record = cert ?? ca;
    const issuedBy = cert !== undefined ? cert.caId : ca?.parentId;
    if (record === undefined || issuedBy !== authority.caId) return { kind: 'unknown' };
    if (record.status === 'revoked') return { kind: 'revoked', at: record.revokedAt ?? new Date(0), reason: record.revocationReason ?? 'unspecified' };
    // A revoked CA vouches for nothing: clients that check only the leaf must not hear "good".
    const signer = await this.props.registry.getCa?.(authority.caId);
    if (signer?.status === 'revoked') return { kind: 'revoked', at: signer.revokedAt ?? new Date(0), reason: signer.revocationReason ?? 'unspecified' };
    return { kind: 'good' };
  }
}

/** Largest POST body accepted; real requests are a few hundred bytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;

export interface RunningResponder {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serve `responder` over HTTP: POST with application/ocsp-request, or GET with the base64 request
 * (URL-encoded) as the path (RFC 6960 appendix A). Listens on loopback unless told otherwise.
 */
export async function serveOcsp(responder: OcspResponder, opts: { port: number; host?: string }): Promise<RunningResponder> {
  const server = createServer((req, res) => {
    handle(responder, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': body.length });
  res.end(body);
}

async function handle(responder: OcspResponder, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET') {
    const path = (req.url ?? '/').replace(/^\/+/, '');
    let der: Buffer;
    try {
      der = Buffer.from(decodeURIComponent(path), 'base64');
    } catch {
      der = Buffer.alloc(0);
    }
    send(res, await responder.respond(der, path));
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'GET, POST' });
    res.end();
    return;
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) {
      send(res, await responder.respond(Buffer.alloc(0)));
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  if (type !== 'application/ocsp-request') {
    send(res, await responder.respond(Buffer.alloc(0)));
    return;
  }
  send(res, await responder.respond(Buffer.concat(chunks)));
}
