import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { readAudit } from '../../lib/audit.js';
import { LocalOpsContext } from '../../orchestration/index.js';
import { AcmeClient } from '../../pki/acme/client.js';
import { createEab, type AcmeLimits } from '../../pki/acme/index.js';
import { initHierarchy, PkiStore, toPem } from '../../pki/index.js';
import { freePort, smallInventory, tempDir } from '../../testkit/index.js';
import { startServe, type RunningServe } from '../index.js';

export const PASS = 'correct horse battery staple';

/** A challenge responder for http-01: token → key authorization. */
export async function challengeServer(): Promise<{ port: number; tokens: Map<string, string>; server: Server; close: () => Promise<void> }> {
  const tokens = new Map<string, string>();
  const server = createServer((req, res) => {
    const token = (req.url ?? '').split('/').pop() ?? '';
    const v = tokens.get(token);
    res.writeHead(v ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(v ?? 'no such token');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, tokens, server, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

export interface Fixture {
  readonly dir: string;
  readonly ctx: LocalOpsContext;
  readonly pki: PkiStore;
  readonly running: RunningServe;
  readonly rootPem: string;
  readonly challenges: Awaited<ReturnType<typeof challengeServer>>;
  readonly log: Record<string, unknown>[];
  eab(site: string, application?: string): Promise<{ kid: string; hmacKey: string }>;
  client(opts?: Partial<ConstructorParameters<typeof AcmeClient>[0]>): AcmeClient;
  /** A registered client of `site`. */
  account(site: string, opts?: Partial<ConstructorParameters<typeof AcmeClient>[0]>): Promise<AcmeClient>;
  certificates(): Promise<number>;
  audit(action: string): Promise<{ outcome: string; details: Record<string, unknown>; actor: string }[]>;
  close(): Promise<void>;
}

export const NAMES = ['app.s440100.jinbao.internal', 'api.s440100.jinbao.internal', 'www.s440100.jinbao.internal', 'app.s440300.jinbao.internal', 'db.440100.jinbao.internal'];

/**
 * A `serve` over a fresh hierarchy. With `httpListen` it also serves revocation data over plain
 * HTTP on a port picked here, and the hierarchy is created with that listener as its distribution
 * base, so every certificate (CA certificates included) names URLs the test can fetch. With `publicUrl` it is
 * started with an explicit --public-url (recorded in the state, as a real start records it). `hosts` (or `names`):
 * more names that validation resolves to 127.0.0.1 (beside NAMES).
 */
export async function startFixture(opts: { limits?: AcmeLimits; cmpPerAddressPerMinute?: number; /** A postgresql:// URL of an empty database: the shared state instead of SQLite. */ postgresUrl?: string; acmeTlsPort?: number; hosts?: readonly string[]; names?: readonly string[]; httpListen?: boolean; publicUrl?: boolean } = {}): Promise<Fixture> {
  const { dir, cleanup } = tempDir('jinbao-serve-');
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify(smallInventory()));
  const ctx = opts.postgresUrl
    ? new LocalOpsContext({ state: { kind: 'postgresql', url: opts.postgresUrl, source: '--state', dir: join(dir, 'work') }, inventory })
    : new LocalOpsContext({ stateDir: join(dir, 'state'), inventory });
  const db = await ctx.database();
  const pki = await PkiStore.open(db, ctx.stateDir);
  const httpPort = opts.httpListen ? await freePort() : undefined;
  await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS, ...(httpPort !== undefined ? { distributionBase: `http://127.0.0.1:${httpPort}` } : {}) });
  const rootPem = toPem((await pki.getCa('root'))!.der);
  const challenges = await challengeServer();
  const log: Record<string, unknown>[] = [];
  const port = await freePort();
  const running = await startServe(ctx, {
    host: '127.0.0.1',
    port,
    ...(opts.publicUrl ? { publicUrl: `https://127.0.0.1:${port}` } : {}),
    ...(httpPort !== undefined ? { httpListen: { host: '127.0.0.1', port: httpPort } } : {}),
    passphrase: PASS,
    acmeHosts: new Map([...NAMES, ...(opts.hosts ?? []), ...(opts.names ?? [])].map((n) => [n, '127.0.0.1'])),
    acmeHttpPort: challenges.port,
    ...(opts.acmeTlsPort !== undefined ? { acmeTlsPort: opts.acmeTlsPort } : {}),
    log: (l) => log.push(l),
    limits: opts.limits ?? { perAddressPerMinute: 100_000, perAccountPerMinute: 100_000, newOrdersPerAccountPerMinute: 100_000 },
    cmpPerAddressPerMinute: opts.cmpPerAddressPerMinute ?? 100_000,
  });
  const fixture: Fixture = {
    dir,
    ctx,
    pki,
    running,
    rootPem,
    challenges,
    log,
    eab: (site, application) => createEab(ctx, ctx.fabric(), PASS, { site, ...(application ? { application } : {}) }),
    client: (o = {}) => new AcmeClient({ directoryUrl: running.directoryUrl, caPem: rootPem, ...o }),
    account: async (site, o = {}) => {
      const c = fixture.client(o);
      const a = await c.register(await fixture.eab(site));
      if (a.status !== 201) throw new Error(`register: ${a.status} ${a.body.toString()}`);
      return c;
    },
    certificates: async () => (await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM pki_certificates'))[0]!.n,
    audit: async (action) => (await readAudit(db, { action })).map((e) => ({ outcome: e.outcome, details: e.details, actor: e.actor })),
    close: async () => {
      await running.close(2000);
      await challenges.close();
      await ctx.close();
      cleanup();
    },
  };
  return fixture;
}
