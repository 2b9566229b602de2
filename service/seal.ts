import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JinbaoError } from '../lib/errors.js';
import { currentCeremony, parseShare, passphraseOpensCaKeys, ShareCollector, type Ceremony } from '../operators/index.js';
import type { OpsContext } from '../orchestration/index.js';
import type { CaSigner } from '../pki/index.js';
import { appendAuditEntry } from './pki-port.js';
import { inputError } from '../lib/i18n/index.js';
import { SERVICE_MESSAGES } from './messages.js';

/**
 * A sealed `jinbao serve`: it listens but signs nothing until custodians have submitted enough
 * shares of the CA passphrase (`jinbao unseal`). While sealed it answers only:
 *   GET  /healthz          200 (the process lives)
 *   GET  /readyz           503 sealed
 *   GET  /sys/seal-status  {"sealed":true,"ceremony","threshold","shares","submitted"}
 *   POST /sys/unseal       {"share":"jinbao-share-v1:…"} → the same, or a problem
 * Each submission, accepted or refused, goes to the audit log with the client's address (never the
 * share). At the threshold the rebuilt passphrase must open every CA key; if it does not, the
 * collected shares are dropped and custodians start again. Then the sealed listener closes and the
 * full service starts on the same address.
 */

export interface SealedOptions {
  readonly host: string;
  readonly port: number;
  /** A sealed service cannot issue its own certificate: it needs --tls-cert/--tls-key. */
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly ceremony: Ceremony;
  /** The CA keys opened with the rebuilt passphrase, by CA id; undefined when they do not open. */
  readonly opensCaKeys: (passphrase: string) => Promise<ReadonlyMap<string, CaSigner> | undefined>;
  readonly audit: (entry: { action: string; outcome: 'ok' | 'refused'; subject: string; details: Record<string, unknown> }) => Promise<void>;
  readonly log: (line: Record<string, unknown>) => void;
}

/** What unsealing yields: the passphrase, the CA keys it opened, when the last share arrived. */
export interface Unsealed {
  readonly passphrase: string;
  readonly signers: ReadonlyMap<string, CaSigner>;
  readonly thresholdAt: number;
}

export interface SealedService {
  readonly port: number;
  /** Resolves with the passphrase once the shares open the CA keys (the listener is closed by then). */
  readonly unsealed: Promise<Unsealed>;
  close(): Promise<void>;
}

const MAX_BODY = 4096;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

async function body(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startSealed(o: SealedOptions): Promise<SealedService> {
  const collector = new ShareCollector(o.ceremony);
  let done: ((v: Unsealed) => void) | undefined;
  const unsealed = new Promise<Unsealed>((resolve) => (done = resolve));
  let opening = false;
  const status = () => ({ sealed: true, ceremony: o.ceremony.id, threshold: o.ceremony.threshold, shares: o.ceremony.shares, submitted: collector.submitted });

  async function unseal(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress ?? '';
    const refuse = async (status_: number, detail: string, number?: number) => {
      await o.audit({ action: 'serve.unseal', outcome: 'refused', subject: o.ceremony.id, details: { reason: detail, remote, ...(number !== undefined ? { share: number } : {}) } });
      reply(res, status_, { error: detail, ...status() });
    };
    if (opening) return refuse(409, 'the shares are being checked against the CA keys; try again in a moment');
    const text = await body(req);
    if (text === undefined) return refuse(413, `body too large: want at most ${MAX_BODY} bytes`);
    let shareText: unknown;
    try {
      shareText = (JSON.parse(text) as { share?: unknown }).share;
    } catch {
      shareText = undefined;
    }
    if (typeof shareText !== 'string') return refuse(400, 'want a JSON body {"share": "<the line of the share file>"}');
    let rebuilt: string | undefined;
    let number: number | undefined;
    try {
      const share = parseShare(shareText);
      number = share.number;
      rebuilt = await collector.submit(share);
    } catch (err) {
      return refuse(err instanceof JinbaoError ? 400 : 500, err instanceof JinbaoError ? err.message : 'internal error', number);
    }
    await o.audit({ action: 'serve.unseal', outcome: 'ok', subject: o.ceremony.id, details: { share: number, submitted: collector.submitted, threshold: o.ceremony.threshold, remote } });
    if (rebuilt === undefined) return reply(res, 202, status());
    const thresholdAt = Date.now();
    opening = true;
    const signers = await o.opensCaKeys(rebuilt);
    opening = false;
    if (!signers) {
      collector.reset();
      return refuse(400, 'the shares do not open the CA keys; every share submitted so far is dropped: submit them again');
    }
    reply(res, 200, { ...status(), sealed: false, submitted: o.ceremony.threshold });
    o.log({ at: new Date().toISOString(), level: 'info', msg: 'unsealed: starting the service', ceremony: o.ceremony.id });
    done!({ passphrase: rebuilt, signers, thresholdAt });
  }

  const server: Server = createServer({ key: o.tls.keyPem, cert: o.tls.certPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const handled =
      req.method === 'GET' && path === '/healthz' ? Promise.resolve(reply(res, 200, { ok: true }))
      : req.method === 'GET' && path === '/readyz' ? Promise.resolve(reply(res, 503, status()))
      : req.method === 'GET' && path === '/sys/seal-status' ? Promise.resolve(reply(res, 200, status()))
      : req.method === 'POST' && path === '/sys/unseal' ? unseal(req, res)
      : Promise.resolve(reply(res, 503, { error: 'the service is sealed: custodians unseal it with jinbao unseal', ...status() }));
    handled
      .catch((err: unknown) => {
        o.log({ at: new Date().toISOString(), level: 'error', msg: 'sealed request failed', error: (err as Error)?.message, stack: (err as Error)?.stack });
        if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      })
      .finally(() => o.log({ at: new Date().toISOString(), remote: req.socket.remoteAddress, method: req.method, path: path.slice(0, 200), status: res.statusCode, sealed: true }));
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  const port = (server.address() as { port: number }).port;
  return {
    port,
    unsealed: unsealed.then(async (v) => {
      // let the answer to the last share leave before the listener goes
      await new Promise((r) => setTimeout(r, 50));
      await close();
      return v;
    }),
    close,
  };
}

/**
 * `jinbao serve --sealed` up to the moment it is unsealed: the ceremony in force, the sealed
 * listener, audit entries through the state. Resolves with the passphrase and the port listened
 * on, or with undefined when `stop` resolves first (SIGTERM while sealed).
 */
export async function unsealFirst(
  ctx: OpsContext,
  o: { host: string; port: number; tls?: { certPem: string; keyPem: string }; log: SealedOptions['log']; stop: Promise<void>; onListening: (s: SealedService) => void },
): Promise<(Unsealed & { port: number }) | undefined> {
  if (!o.tls) throw inputError(SERVICE_MESSAGES, 'serve.sealedTls');
  const ceremony = await currentCeremony(ctx);
  const sealed = await startSealed({
    host: o.host,
    port: o.port,
    tls: o.tls,
    ceremony,
    opensCaKeys: (p) => passphraseOpensCaKeys(ctx, p),
    audit: async (e) => appendAuditEntry(ctx, { ...e, actor: 'jinbao-serve' }),
    log: o.log,
  });
  o.onListening(sealed);
  const outcome = await Promise.race([sealed.unsealed, o.stop.then(() => undefined)]);
  if (!outcome) {
    await sealed.close();
    return undefined;
  }
  return { ...outcome, port: sealed.port };
}
