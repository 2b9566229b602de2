import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseDuration, parseInteger, TCP_PORT } from '../../lib/options.js';
import { readHostsFile } from '../../pki/acme/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, forgetUnlockedKeys, resolvePassphrase } from '../../pki/index.js';
import { openPki } from '../../pki/operations.js';
import { clusterBuckets, isServeWorker, prepareServe, runPrimary, startServe, workerChannel, unsealFirst, appendAuditEntry, type ServeRequest, type Unsealed } from '../../service/index.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

interface ServeOptions {
  listen: string;
  publicUrl?: string;
  httpListen?: string;
  revocationUrl?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSite?: string;
  passphraseEnv: string;
  acmeHosts?: string;
  acmeHttpPort?: string;
  acmeTlsPort?: string;
  acmeDnsServer?: string;
  validityDays: string;
  rateLimitAddress: string;
  rateLimitAccount: string;
  rateLimitOrders: string;
  rateLimitCmp: string;
  sealed?: boolean;
  workers?: string;
  maxFailedLogins: string;
  sessionTimeout: string;
  sessionLifetime: string;
}

export function register(program: Command, run: Runner): void {
  program
    .command('serve')
    .description('the certificate service: ACME (RFC 8555) and CMP (RFC 4210) enrollment over HTTPS; CRLs and OCSP for every CA over HTTPS and, with --http-listen, plain HTTP')
    .option('--listen <host:port>', 'address and port to listen on', '127.0.0.1:8443')
    .option('--public-url <url>', 'the https:// URL clients reach this service at (ACME URLs, and the CRL and OCSP URLs in issued certificates, are under it); default https://<listen>')
    .option('--http-listen <host:port>', 'also serve revocation data alone (/crl/, /ocsp, /ca/; never ACME) over plain HTTP here, as RFC 5280 recommends for relying parties')
    .option('--revocation-url <url>', 'the base of the CRL, OCSP and CA-certificate URLs in issued certificates and CRLs; default http://<public-url host>:<http-listen port> with --http-listen, else --public-url')
    .option('--tls-cert <file>', 'the service\'s TLS certificate chain (PEM); default: one issued now from the infrastructure CA for the --public-url host')
    .option('--tls-key <file>', 'its private key (PEM), with --tls-cert')
    .option('--tls-site <id>', 'the inventory site the service\'s own certificate belongs to (default: the ministry)')
    .option('--workers <n>', 'processes sharing the listeners, so OCSP signing and TLS use every core (default: the number of cores)')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (also decrypts EAB keys and CMP secrets)', DEFAULT_PASSPHRASE_ENV)
    .option('--validity-days <n>', 'validity of certificates issued through ACME', '90')
    .option('--rate-limit-address <n>', 'ACME requests a minute per client address (shared by the workers of one serve)', '600')
    .option('--rate-limit-account <n>', 'ACME requests a minute per account (shared by the workers of one serve)', '300')
    .option('--rate-limit-orders <n>', 'new orders a minute per account (shared by the workers of one serve)', '60')
    .option('--rate-limit-cmp <n>', 'CMP requests a minute per client address (shared by the workers of one serve); over it: HTTP 429 with Retry-After', '600')
    .option('--acme-hosts <file>', 'LABS AND TESTS ONLY: a hosts file ("127.0.0.1 app.s440100.jinbao.internal") consulted first when validating challenges')
    .option('--acme-http-port <n>', 'LABS AND TESTS ONLY: the port http-01 validation connects to (RFC 8555 fixes 80)')
    .option('--acme-tls-port <n>', 'LABS AND TESTS ONLY: the port tls-alpn-01 validation connects to (RFC 8737 fixes 443)')
    .option('--acme-dns-server <ip[:port]>', 'DNS server for dns-01 TXT lookups (default: the system resolver)')
    .option('--max-failed-logins <n>', 'client mode: consecutive wrong passwords that lock an operator until a security administrator runs jinbao operator unlock', '5')
    .option('--session-timeout <duration>', 'client mode: a session (jinbao login) unused this long ends, e.g. 15m', '15m')
    .option('--session-lifetime <duration>', 'client mode: a session ends this long after login, used or not, e.g. 8h', '8h')
    .option('--sealed', 'start sealed: sign nothing until custodians submit enough shares of the CA passphrase (jinbao ceremony split, jinbao unseal); needs --tls-cert/--tls-key; one process')
    .addHelpText(
      'after',
      '\nEndpoints (under --public-url):\n' +
        '  /acme/directory           ACME; accounts need External Account Binding (jinbao acme eab create)\n' +
        '  /cmp/<site>               CMP (RFC 4210, RFC 9483) for staff: openssl cmp with a secret from jinbao cmp secret create\n' +
        '  /crl/<ca-id>.crl          the CA\'s current full CRL (DER); ETag, Last-Modified, 304 answers\n' +
        '  /crl/<ca-id>-delta.crl    its delta CRL (named by the full CRL\'s FreshestCRL), cut again at every revocation\n' +
        '  /ocsp, /ocsp/<ca-id>      OCSP (RFC 6960), GET and POST\n' +
        '  /ca/<ca-id>.crt           CA certificates (DER; .pem for PEM)\n' +
        '  /healthz /readyz /metrics liveness, readiness, Prometheus metrics\n' +
        'With --http-listen the /crl/, /ocsp and /ca/ URLs are also served over plain HTTP, and issued certificates name them there.\n' +
        'One JSON line per request goes to stderr. SIGTERM or Ctrl-C: stop accepting, finish requests and validations, exit.\n\n' +
        'Examples:\n' +
        '  $ jinbao serve --listen 0.0.0.0:8443 --public-url https://pki.jinbao.internal:8443\n' +
        '  $ jinbao serve --listen 0.0.0.0:8443 --public-url https://pki.jinbao.internal:8443 --http-listen 0.0.0.0:80\n' +
        '  $ jinbao acme eab create --site 440100 --application employee-insurance\n' +
        '  $ REQUESTS_CA_BUNDLE=root.pem certbot certonly --standalone -d app.guangzhou.jinbao.internal \\\n' +
        '      --server https://pki.jinbao.internal:8443/acme/directory --eab-kid KID --eab-hmac-key KEY -m ops@example.org --agree-tos\n' +
        'docs/serve.md has every client\'s command line.',
    )
    .action(run<ServeOptions>(serve));
}

function parseListen(text: string, flag = '--listen', example = '8443'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]+)$/.exec(text);
  if (!m) throw inputError(COMMAND_MESSAGES, 'serve.err.listen', { flag, text, example });
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: parseInteger(`${flag} port`, m[2]!, TCP_PORT) };
}

/** "192.0.2.53", "127.0.0.1:5353", "[::1]:5353" or "::1": what node's resolver takes. */
function parseDnsServer(text: string): string {
  const m = /^(?:([0-9.]+)|\[([0-9a-fA-F:]+)\]|([0-9a-fA-F:]+))(?::([0-9]+))?$/.exec(text);
  const ip = m?.[1] ?? m?.[2] ?? m?.[3];
  const bracketless6 = m?.[3] !== undefined && m[4] !== undefined;
  if (!m || !ip || isIP(ip) === 0 || bracketless6) throw inputError(COMMAND_MESSAGES, 'serve.err.dnsServer', { text });
  if (m[4] !== undefined) parseInteger('--acme-dns-server port', m[4], { min: 1, max: 65_535, what: 'port' });
  return text;
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw inputError(COMMAND_MESSAGES, 'client.err.read', { flag, file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
}

/**
 * The service's structured log (one JSON object a line on stderr: the access log, lifecycle
 * events). The lines of one turn of the event loop go out in one write: under load a worker ends
 * many requests per turn, and a write per line cost it about a tenth of its time. Lines wait at
 * most until the loop's next check phase; `flush` writes them at once (before other stderr text,
 * and when the command ends).
 */
export function lineLog(write: (text: string) => void): { log: (line: Record<string, unknown>) => void; flush: () => void } {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    write(text);
  };
  return {
    log: (line) => {
      pending += `${JSON.stringify(line)}\n`;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

async function serve(ctx: Context, o: ServeOptions): Promise<void> {
  const lines = lineLog((text) => ctx.err(text));
  try {
    await serveWith(ctx, o, lines);
  } finally {
    lines.flush();
  }
}

async function serveWith(ctx: Context, o: ServeOptions, lines: ReturnType<typeof lineLog>): Promise<void> {
  const { host, port } = parseListen(o.listen);
  const httpListen = o.httpListen !== undefined ? parseListen(o.httpListen, '--http-listen', '8080') : undefined;
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw inputError(COMMAND_MESSAGES, 'serve.err.tlsPair');
  const tls = o.tlsCert !== undefined ? { certPem: readPem('--tls-cert', o.tlsCert), keyPem: readPem('--tls-key', o.tlsKey!) } : undefined;
  const perMinute = (flag: string, v: string) => parseInteger(flag, v, { min: 1, max: 1_000_000, what: 'perMinute' });
  const limits = {
    perAddressPerMinute: perMinute('--rate-limit-address', o.rateLimitAddress),
    perAccountPerMinute: perMinute('--rate-limit-account', o.rateLimitAccount),
    newOrdersPerAccountPerMinute: perMinute('--rate-limit-orders', o.rateLimitOrders),
  };
  const cmpPerAddressPerMinute = perMinute('--rate-limit-cmp', o.rateLimitCmp);
  const workers = parseInteger('--workers', o.workers ?? String(availableParallelism()), { min: 1, max: 64 });
  const validityDays = parseInteger('--validity-days', o.validityDays, { min: 1, max: 397, what: 'days' });
  const acmeHttpPort = o.acmeHttpPort !== undefined ? parseInteger('--acme-http-port', o.acmeHttpPort, { min: 1, max: 65_535, what: 'port' }) : undefined;
  const acmeTlsPort = o.acmeTlsPort !== undefined ? parseInteger('--acme-tls-port', o.acmeTlsPort, { min: 1, max: 65_535, what: 'port' }) : undefined;
  const acmeDnsServer = o.acmeDnsServer !== undefined ? parseDnsServer(o.acmeDnsServer) : undefined;
  const acmeHosts = o.acmeHosts !== undefined ? readHostsFile(o.acmeHosts) : undefined;
  const auth = {
    maxFailedLogins: parseInteger('--max-failed-logins', o.maxFailedLogins, { min: 1, max: 100 }),
    sessionIdleMs: parseDuration('--session-timeout', o.sessionTimeout) * 1000,
    sessionLifetimeMs: parseDuration('--session-lifetime', o.sessionLifetime) * 1000,
  };
  if (auth.sessionIdleMs > auth.sessionLifetimeMs) throw inputError(COMMAND_MESSAGES, 'serve.err.sessionTimeout', { timeout: o.sessionTimeout, lifetime: o.sessionLifetime });
  const log = lines.log;
  // other stderr text keeps its place after the log lines written before it
  const err = (text: string) => {
    lines.flush();
    ctx.err(text);
  };
  let passphrase: string;
  let signers: Unsealed['signers'] | undefined;
  let listenPort = port;
  let thresholdAt: number | undefined;
  // one wait for SIGTERM/SIGINT for the whole life of the service (sealed, unsealed, sealed again)
  const stop = isServeWorker() ? new Promise<void>(() => undefined) : untilSignal(false);
  if (o.sealed && !isServeWorker()) {
    if (ctx.io.env[o.passphraseEnv]) throw inputError(COMMAND_MESSAGES, 'serve.err.sealedEnv', { name: o.passphraseEnv });
    if (o.workers !== undefined && o.workers !== '1') throw inputError(COMMAND_MESSAGES, 'serve.err.sealedWorkers', { workers: o.workers });
    const opened = await unsealFirst(ctx, {
      host,
      port,
      ...(tls ? { tls } : {}),
      log,
      stop,
      onListening: (s) => ctx.out(`jinbao serve sealed on https://${host.includes(':') ? `[${host}]` : host}:${s.port} (pid ${process.pid}): waiting for shares of the CA passphrase (jinbao unseal)\n`),
    });
    if (!opened) return void ctx.out('jinbao serve stopped while sealed\n');
    ({ passphrase, port: listenPort, thresholdAt, signers } = opened);
  } else {
    const resolved = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir, demo: async () => demoPassphrase(await openPki(ctx)) });
    if (resolved.source === 'demo' && !isServeWorker()) err(`${DEMO_PASSPHRASE_WARNING}\n`);
    passphrase = resolved.passphrase;
  }
  let request: ServeRequest = {
    host,
    port: listenPort,
    passphrase,
    ...(signers ? { signers } : {}),
    log,
    limits,
    cmpPerAddressPerMinute,
    validityDays,
    ...(o.publicUrl !== undefined ? { publicUrl: o.publicUrl } : {}),
    ...(httpListen ? { httpListen } : {}),
    ...(o.revocationUrl !== undefined ? { revocationUrl: o.revocationUrl } : {}),
    ...(tls ? { tls } : {}),
    ...(o.tlsSite !== undefined ? { tlsSite: o.tlsSite } : {}),
    ...(acmeHosts ? { acmeHosts } : {}),
    ...(acmeHttpPort !== undefined ? { acmeHttpPort } : {}),
    ...(acmeTlsPort !== undefined ? { acmeTlsPort } : {}),
    ...(acmeDnsServer !== undefined ? { acmeDnsServers: [acmeDnsServer] } : {}),
    // client mode: operators' command lines run here, on this service's state, with the keys it holds
    admin: {
      run: ctx.runCommandLine,
      globalArgs: ['--state', ctx.state.kind === 'postgresql' ? ctx.state.url : ctx.state.dir, ...(ctx.inventoryFile !== undefined ? ['--inventory', ctx.inventoryFile] : [])],
      env: { ...ctx.io.env, [o.passphraseEnv]: passphrase },
      auth,
    },
  };
  if (isServeWorker()) {
    // A worker of `--workers N`: the primary checked everything, printed the banner and holds the TLS key.
    const channel = workerChannel();
    const sweep = await channel.housekeeping;
    if (sweep) log({ at: new Date().toISOString(), level: 'info', msg: 'this worker runs the ACME expiry sweep', pid: process.pid });
    // The rate-limit buckets are the primary's, shared by every worker; logged at most once a minute when it does not answer.
    let fallbackLoggedAt = 0;
    const rateBuckets = clusterBuckets({
      onFallback: (why) => {
        if (Date.now() - fallbackLoggedAt < 60_000) return;
        fallbackLoggedAt = Date.now();
        log({ at: new Date().toISOString(), level: 'warn', msg: 'rate limit (ACME or CMP) taken from this worker\'s own buckets', why, pid: process.pid });
      },
    });
    const running = await startServe(ctx, { ...request, tls: await channel.tls, quiet: true, sweep, rateBuckets });
    channel.ready({ url: running.service.url, ...(running.service.httpUrl ? { httpUrl: running.service.httpUrl } : {}) });
    await untilSignal(true);
    await running.close();
    channel.done();
    return;
  }
  if (workers > 1 && !o.sealed) {
    const prepared = await prepareServe(ctx, request);
    const primary = runPrimary({ workers, tls: prepared.tls, log });
    const listening = await primary.ready;
    // One write: a reader waiting for the banner gets both lines together.
    ctx.out(
      `jinbao serve listening on ${listening.url} (pid ${process.pid}, ${workers} worker processes); ACME directory ${prepared.directoryUrl}\n` +
        (listening.httpUrl ? `revocation data over plain HTTP on ${listening.httpUrl}; certificates name ${prepared.revocationUrl}\n` : ''),
    );
    if (prepared.tlsSerial) ctx.out(`TLS certificate ${prepared.tlsSerial} ${prepared.tlsReused ? 'reused (issued at an earlier start, over a third of its life left)' : 'issued'} by the infrastructure CA; clients trust the root (jinbao pki cas --pem root)\n`);
    if (acmeHosts || acmeHttpPort !== undefined || acmeTlsPort !== undefined) err('warning: --acme-hosts / --acme-http-port / --acme-tls-port are for labs and tests, not for production validation\n');
    await stop;
    log({ at: new Date().toISOString(), level: 'info', msg: 'shutting down: draining requests and validations' });
    await primary.stop();
    ctx.out('jinbao serve stopped\n');
    return;
  }
  // A sealed service can be sealed again (jinbao seal): it drops the CA keys and waits for shares.
  let sealAgain: ((actor: string) => void) | undefined;
  let running = await startServe(ctx, o.sealed ? withSeal(request) : request);
  // the service's local operator seals it with a signal; audited like a sealing through client mode
  const onUsr2 = () =>
    void appendAuditEntry(ctx, { action: 'serve.seal', outcome: 'ok', subject: 'service', actor: `local:${ctx.io.env.USER ?? process.getuid?.() ?? '?'} (SIGUSR2)`, details: {} }).then(() => sealAgain?.('SIGUSR2'));
  if (o.sealed) process.on('SIGUSR2', onUsr2);
  for (;;) {
    ctx.out(
      `jinbao serve listening on ${running.service.url} (pid ${process.pid}); ACME directory ${running.directoryUrl}\n` +
        (running.service.httpUrl ? `revocation data over plain HTTP on ${running.service.httpUrl}; certificates name ${running.revocationUrl}\n` : ''),
    );
    if (thresholdAt !== undefined) ctx.out(`unsealed: serving ${Date.now() - thresholdAt} ms after the last share arrived\n`);
    if (running.tlsSerial) ctx.out(`TLS certificate ${running.tlsSerial} ${running.tlsReused ? 'reused (issued at an earlier start, over a third of its life left)' : 'issued'} by the infrastructure CA; clients trust the root (jinbao pki cas --pem root)\n`);
    if (acmeHosts || acmeHttpPort !== undefined || acmeTlsPort !== undefined) err('warning: --acme-hosts / --acme-http-port / --acme-tls-port are for labs and tests, not for production validation\n');
    const sealed = new Promise<string>((resolve) => (sealAgain = resolve));
    const why = await Promise.race([stop.then(() => undefined), sealed]);
    if (why === undefined) break;
    log({ at: new Date().toISOString(), level: 'info', msg: 'sealing: dropping the CA keys, waiting for shares', by: why });
    await running.close();
    // nothing of the passphrase or the opened keys stays referenced while sealed
    forgetUnlockedKeys();
    request = { ...request, passphrase: '', signers: new Map(), admin: { ...request.admin!, env: { ...ctx.io.env } } };
    const opened = await unsealFirst(ctx, {
      host,
      port: listenPort,
      ...(tls ? { tls } : {}),
      log,
      stop,
      onListening: (s) => ctx.out(`jinbao serve sealed on https://${host.includes(':') ? `[${host}]` : host}:${s.port} (pid ${process.pid}): waiting for shares of the CA passphrase (jinbao unseal)\n`),
    });
    if (!opened) {
      process.off('SIGUSR2', onUsr2);
      return void ctx.out('jinbao serve stopped while sealed\n');
    }
    thresholdAt = opened.thresholdAt;
    const admin = { ...request.admin!, env: { ...ctx.io.env, [o.passphraseEnv]: opened.passphrase } };
    running = await startServe(ctx, withSeal({ ...request, passphrase: opened.passphrase, signers: opened.signers, admin }));
  }
  process.off('SIGUSR2', onUsr2);
  log({ at: new Date().toISOString(), level: 'info', msg: 'shutting down: draining requests and validations' });
  await running.close();
  ctx.out('jinbao serve stopped\n');

  function withSeal(r: ServeRequest): ServeRequest {
    return { ...r, admin: { ...r.admin!, seal: async (actor: string) => sealAgain?.(actor) } };
  }
}

/**
 * Until SIGTERM or SIGINT. A second signal ends the process at once, except in a worker
 * (`keep`): Ctrl-C reaches the workers and the primary, and the primary's SIGTERM must not cut a
 * worker's draining short.
 */
function untilSignal(keep: boolean): Promise<void> {
  return new Promise<void>((done) => {
    let seen = false;
    const stop = () => {
      if (!keep) {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      if (seen) return;
      seen = true;
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
