import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { InputError } from '../../lib/errors.js';
import { parseInteger, TCP_PORT } from '../../lib/options.js';
import { readHostsFile } from '../../pki/acme/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, resolvePassphrase } from '../../pki/index.js';
import { openPki } from '../../pki/operations.js';
import { startServe, unsealFirst } from '../../service/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

interface ServeOptions {
  listen: string;
  publicUrl?: string;
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
  sealed?: boolean;
}

export function register(program: Command, run: Runner): void {
  program
    .command('serve')
    .description('the certificate service: ACME (RFC 8555) and CMP (RFC 4210) enrollment, CRLs and OCSP for every CA, over HTTPS')
    .option('--listen <host:port>', 'address and port to listen on', '127.0.0.1:8443')
    .option('--public-url <url>', 'the https:// URL clients reach this service at (ACME URLs, and the CRL and OCSP URLs in issued certificates, are under it); default https://<listen>')
    .option('--tls-cert <file>', 'the service\'s TLS certificate chain (PEM); default: one issued now from the infrastructure CA for the --public-url host')
    .option('--tls-key <file>', 'its private key (PEM), with --tls-cert')
    .option('--tls-site <id>', 'the inventory site the service\'s own certificate belongs to (default: the ministry)')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (also decrypts EAB keys and CMP secrets)', DEFAULT_PASSPHRASE_ENV)
    .option('--validity-days <n>', 'validity of certificates issued through ACME', '90')
    .option('--rate-limit-address <n>', 'ACME requests a minute per client address (per process)', '600')
    .option('--rate-limit-account <n>', 'ACME requests a minute per account (per process)', '300')
    .option('--rate-limit-orders <n>', 'new orders a minute per account (per process)', '60')
    .option('--acme-hosts <file>', 'LABS AND TESTS ONLY: a hosts file ("127.0.0.1 app.s440100.jinbao.internal") consulted first when validating challenges')
    .option('--acme-http-port <n>', 'LABS AND TESTS ONLY: the port http-01 validation connects to (RFC 8555 fixes 80)')
    .option('--acme-tls-port <n>', 'LABS AND TESTS ONLY: the port tls-alpn-01 validation connects to (RFC 8737 fixes 443)')
    .option('--acme-dns-server <ip[:port]>', 'DNS server for dns-01 TXT lookups (default: the system resolver)')
    .option('--sealed', 'start sealed: sign nothing until custodians submit enough shares of the CA passphrase (jinbao ceremony split, jinbao unseal); needs --tls-cert/--tls-key')
    .addHelpText(
      'after',
      '\nEndpoints (under --public-url):\n' +
        '  /acme/directory           ACME; accounts need External Account Binding (jinbao acme eab create)\n' +
        '  /cmp/<site>               CMP (RFC 4210, RFC 9483) for staff: openssl cmp with a secret from jinbao cmp secret create\n' +
        '  /crl/<ca-id>.crl          the CA\'s current full CRL (DER), cut again after revocations\n' +
        '  /ocsp, /ocsp/<ca-id>      OCSP (RFC 6960), GET and POST\n' +
        '  /ca/<ca-id>.crt           CA certificates (DER; .pem for PEM)\n' +
        '  /healthz /readyz /metrics liveness, readiness, Prometheus metrics\n' +
        'One JSON line per request goes to stderr. SIGTERM or Ctrl-C: stop accepting, finish requests and validations, exit.\n\n' +
        'Examples:\n' +
        '  $ jinbao serve --listen 0.0.0.0:8443 --public-url https://pki.jinbao.internal:8443\n' +
        '  $ jinbao acme eab create --site 440100 --application employee-insurance\n' +
        '  $ REQUESTS_CA_BUNDLE=root.pem certbot certonly --standalone -d app.guangzhou.jinbao.internal \\\n' +
        '      --server https://pki.jinbao.internal:8443/acme/directory --eab-kid KID --eab-hmac-key KEY -m ops@example.org --agree-tos\n' +
        'docs/serve.md has every client\'s command line.',
    )
    .action(run<ServeOptions>(serve));
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]+)$/.exec(text);
  if (!m) throw new InputError(`--listen: got "${text}", want HOST:PORT such as 127.0.0.1:8443 or [::1]:8443`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: parseInteger('--listen port', m[2]!, TCP_PORT) };
}

/** "192.0.2.53", "127.0.0.1:5353", "[::1]:5353" or "::1": what node's resolver takes. */
function parseDnsServer(text: string): string {
  const m = /^(?:([0-9.]+)|\[([0-9a-fA-F:]+)\]|([0-9a-fA-F:]+))(?::([0-9]+))?$/.exec(text);
  const ip = m?.[1] ?? m?.[2] ?? m?.[3];
  const bracketless6 = m?.[3] !== undefined && m[4] !== undefined;
  if (!m || !ip || isIP(ip) === 0 || bracketless6) throw new InputError(`--acme-dns-server: got "${text}", want an IP address with an optional port, such as 192.0.2.53, 127.0.0.1:5353 or [::1]:5353`);
  if (m[4] !== undefined) parseInteger('--acme-dns-server port', m[4], { min: 1, max: 65_535, what: 'port' });
  return text;
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

async function serve(ctx: Context, o: ServeOptions): Promise<void> {
  const { host, port } = parseListen(o.listen);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new InputError('TLS: got only one of --tls-cert and --tls-key, want both or neither (neither: the service issues its own certificate)');
  const tls = o.tlsCert !== undefined ? { certPem: readPem('--tls-cert', o.tlsCert), keyPem: readPem('--tls-key', o.tlsKey!) } : undefined;
  const perMinute = (flag: string, v: string) => parseInteger(flag, v, { min: 1, max: 1_000_000, what: 'perMinute' });
  const limits = {
    perAddressPerMinute: perMinute('--rate-limit-address', o.rateLimitAddress),
    perAccountPerMinute: perMinute('--rate-limit-account', o.rateLimitAccount),
    newOrdersPerAccountPerMinute: perMinute('--rate-limit-orders', o.rateLimitOrders),
  };
  const validityDays = parseInteger('--validity-days', o.validityDays, { min: 1, max: 397, what: 'days' });
  const acmeHttpPort = o.acmeHttpPort !== undefined ? parseInteger('--acme-http-port', o.acmeHttpPort, { min: 1, max: 65_535, what: 'port' }) : undefined;
  const acmeTlsPort = o.acmeTlsPort !== undefined ? parseInteger('--acme-tls-port', o.acmeTlsPort, { min: 1, max: 65_535, what: 'port' }) : undefined;
  const acmeDnsServer = o.acmeDnsServer !== undefined ? parseDnsServer(o.acmeDnsServer) : undefined;
  const acmeHosts = o.acmeHosts !== undefined ? readHostsFile(o.acmeHosts) : undefined;
  const log = (line: Record<string, unknown>) => ctx.err(`${JSON.stringify(line)}\n`);
  const stop = new Promise<void>((done) => {
    const stop_ = () => {
      process.off('SIGINT', stop_);
      process.off('SIGTERM', stop_);
      done();
    };
    process.on('SIGINT', stop_);
    process.on('SIGTERM', stop_);
  });
  let passphrase: string;
  let listenPort = port;
  let thresholdAt: number | undefined;
  if (o.sealed) {
    if (ctx.io.env[o.passphraseEnv]) throw new InputError(`--sealed: got ${o.passphraseEnv} set in the environment, want it unset: a sealed service takes the CA passphrase only from the custodians' shares`);
    const opened = await unsealFirst(ctx, {
      host,
      port,
      ...(tls ? { tls } : {}),
      log,
      stop,
      onListening: (s) => ctx.out(`jinbao serve sealed on https://${host.includes(':') ? `[${host}]` : host}:${s.port} (pid ${process.pid}): waiting for shares of the CA passphrase (jinbao unseal)\n`),
    });
    if (!opened) return void ctx.out('jinbao serve stopped while sealed\n');
    ({ passphrase, port: listenPort, thresholdAt } = opened);
  } else {
    const resolved = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir, demo: async () => demoPassphrase(await openPki(ctx)) });
    if (resolved.source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
    passphrase = resolved.passphrase;
  }
  const running = await startServe(ctx, {
    host,
    port: listenPort,
    passphrase,
    log,
    limits,
    validityDays,
    ...(o.publicUrl !== undefined ? { publicUrl: o.publicUrl } : {}),
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
    },
  });
  ctx.out(`jinbao serve listening on ${running.service.url} (pid ${process.pid}); ACME directory ${running.directoryUrl}\n`);
  if (thresholdAt !== undefined) ctx.out(`unsealed: serving ${Date.now() - thresholdAt} ms after the last share arrived\n`);
  if (running.tlsSerial) ctx.out(`TLS certificate ${running.tlsSerial} ${running.tlsReused ? 'reused (issued at an earlier start, over a third of its life left)' : 'issued'} by the infrastructure CA; clients trust the root (jinbao pki cas --pem root)\n`);
  if (acmeHosts || acmeHttpPort !== undefined || acmeTlsPort !== undefined) ctx.err('warning: --acme-hosts / --acme-http-port / --acme-tls-port are for labs and tests, not for production validation\n');
  await stop;
  log({ at: new Date().toISOString(), level: 'info', msg: 'shutting down: draining requests and validations' });
  await running.close();
  ctx.out('jinbao serve stopped\n');
}
