import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError, type CatalogueMessage } from './errors.js';
import { catalogueMessage, LIB } from './i18n/index.js';

/**
 * Reading libpq connection strings without connecting: both forms libpq takes, the URI
 * (`postgres://user@host:5432/db?sslmode=require`) and keyword/value pairs
 * (`host=db port=5432 dbname='my db'`).
 */

/** A connection string that is neither form; `at` is the 1-based character where reading stopped. */
export class UnreadableConnectionString extends Error {
  readonly at: number;
  constructor(at: number) {
    super(`not a postgres:// URI nor key=value pairs (unreadable from character ${at})`);
    this.name = 'UnreadableConnectionString';
    this.at = at;
  }
}

/** Connection parameters that hold a secret: the password, and the passphrase of the client key. */
const SECRET_KEYS = new Set(['password', 'sslpassword']);

/**
 * Where a connection string carries a password, or `undefined` when it carries none. Errs on the
 * side of finding one: in a URI, a `:` before the first `@` counts as a password even where a
 * stricter parser would see a host and port. The answer never repeats the string itself (it may
 * hold the secret). Throws UnreadableConnectionString for keyword/value text it cannot read.
 */
export function passwordIn(conn: string): string | undefined {
  const uri = /^postgres(?:ql)?:\/\//i.exec(conn);
  return uri ? passwordInUri(conn.slice(uri[0].length)) : passwordInPairs(conn);
}

function passwordInUri(rest: string): string | undefined {
  const at = rest.indexOf('@');
  if (at >= 0 && rest.slice(0, at).includes(':')) return 'the user:password@ part of the URI';
  const query = rest.indexOf('?');
  if (query < 0) return undefined;
  for (const param of rest.slice(query + 1).split('&')) {
    const key = decode(param.split('=', 1)[0]!).trim().toLowerCase();
    if (SECRET_KEYS.has(key)) return `the "${key}" parameter of the URI`;
  }
  return undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** libpq's keyword/value form: `key = value` pairs separated by whitespace, values bare or in single quotes, `\` escaping. */
function pairs(conn: string): Map<string, string> {
  const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)(?:[^\s\\]|\\.)*|(?=\s|$))/y;
  const out = new Map<string, string>();
  let at = 0;
  while (at < conn.length) {
    if (/^\s*$/.test(conn.slice(at))) break;
    pair.lastIndex = at;
    const m = pair.exec(conn);
    if (!m) throw new UnreadableConnectionString(at + 1);
    const raw = m[2] ?? '';
    const value = raw.startsWith("'") ? raw.slice(1, -1) : raw;
    const key = m[1]!.toLowerCase();
    if (!out.has(key)) out.set(key, value.replace(/\\(.)/g, '$1'));
    at = pair.lastIndex;
  }
  return out;
}

function passwordInPairs(conn: string): string | undefined {
  for (const key of pairs(conn).keys()) if (SECRET_KEYS.has(key)) return `the "${key}" key`;
  return undefined;
}

/** Host and port a connection string names, with libpq's defaults (localhost, 5432). */
export function hostAndPort(conn: string): { host: string; port: number } | { error: string } {
  const trimmed = conn.trim();
  if (/^postgres(?:ql)?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      return { error: 'not a valid connection URI; want postgresql://user@host:5432/database' };
    }
    const host = decodeURIComponent(url.hostname) || url.searchParams.get('host') || 'localhost';
    const port = Number(url.port || url.searchParams.get('port') || 5432);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `port "${url.port}" is not a TCP port` };
    return { host: host.replace(/^\[|\]$/g, ''), port };
  }
  let kv: Map<string, string>;
  try {
    kv = pairs(trimmed);
  } catch (err) {
    return { error: `${(err as Error).message}; want postgresql://user@host:5432/database or "host=... port=... dbname=..."` };
  }
  if (kv.size === 0) return { error: 'empty; want postgresql://user@host:5432/database or "host=... port=... dbname=..."' };
  const port = Number(kv.get('port') ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `port "${kv.get('port')}" is not a TCP port` };
  return { host: kv.get('host') ?? 'localhost', port };
}

/** libpq's `sslmode` values jinbao follows (`allow` is refused: its first attempt goes out unencrypted). */
export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** The libpq keywords jinbao reads; any other is refused, as libpq refuses an unknown option. */
const KEYWORDS = new Set([
  'host',
  'port',
  'dbname',
  'user',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslcrl',
  'application_name',
  'fallback_application_name',
  'connect_timeout',
  'options',
  'client_encoding',
  'keepalives',
  'keepalives_idle',
]);

/** The libpq keywords of a connection string in either form, lower-cased, first occurrence wins. */
export function connectionParams(conn: string): Map<string, string> {
  const trimmed = conn.trim();
  const uri = /^postgres(?:ql)?:\/\//i.exec(trimmed);
  if (!uri) return pairs(trimmed);
  const rest = trimmed.slice(uri[0].length);
  const authority = rest.split(/[/?]/, 1)[0]!;
  if (authority.slice(authority.lastIndexOf('@') + 1).includes(',')) throw new Error('names several hosts; give one host per connection string');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error('is not a valid connection URI; want postgresql://user@host:5432/database');
  }
  const out = new Map<string, string>();
  const set = (k: string, v: string) => {
    if (v !== '' && !out.has(k)) out.set(k, v);
  };
  for (const [k, v] of url.searchParams) set(k.toLowerCase(), v);
  set('user', decode(url.username));
  if (url.password !== '') out.set('password', '');
  set('host', decode(url.hostname).replace(/^\[|\]$/g, ''));
  set('port', url.port);
  set('dbname', decode(url.pathname.replace(/^\//, '')));
  return out;
}

/** A connection string jinbao refuses; `problem` is the message without the source. */
export class ConnectionStringError extends InputError {
  readonly problem: string;
  /** `problem` as a catalogue message, when it has one: printed in the user's language. */
  constructor(source: string, problem: string, localizedProblem?: CatalogueMessage) {
    super(`${source} ${problem}`, localizedProblem ? { localized: catalogueMessage(LIB, 'pgConn.wrap', { source, problem: localizedProblem }).localized } : {});
    this.name = 'ConnectionStringError';
    this.problem = problem;
  }
}

/** A connection string as jinbao will use it, with what its TLS actually does, in words. */
export interface PgConnection {
  readonly source: string;
  /** Host (or Unix socket folder) and port, for messages. */
  readonly host: string;
  readonly port: number;
  /** Unix socket connections never use TLS (libpq ignores sslmode there). */
  readonly socket: boolean;
  readonly sslmode: SslMode;
  /** The root certificate file the server is checked against, and who named it. */
  readonly root?: { readonly file: string; readonly from: string };
  /** What the connection's TLS does: "TLS, server verified against …", "TLS, server not verified …", "no TLS …". */
  readonly tls: string;
  /**
   * sslmode=prefer on TCP: TLS when the server offers it, plain otherwise. node-postgres cannot
   * fall back on its own; settle it with `settleTls` (lib/pg-client.ts) before connecting.
   */
  readonly negotiate: boolean;
  /** node-postgres options (no connection string: every libpq keyword is applied); reads the certificate files named. */
  clientOptions(): PgClientOptions;
}

/** The subset of node-postgres's client options jinbao sets (structurally a pg.ClientConfig). */
export interface PgClientOptions {
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  application_name?: string;
  fallback_application_name?: string;
  options?: string;
  client_encoding?: string;
  keepAlive?: boolean;
  keepAliveInitialDelayMillis?: number;
  connectionTimeoutMillis?: number;
  ssl: false | { ca?: string; cert?: string; key?: string; crl?: string; rejectUnauthorized: boolean; checkServerIdentity?: () => undefined };
}

export interface ConnectionOptions {
  /** Where the string comes from, for messages: "nodes.dc.connection of pairs/440000.yaml". */
  readonly source: string;
  /**
   * A root certificate jinbao already knows for these servers (a pair file's `tls.ca`). Used when
   * the string and the environment name none: TLS is then verified against it, as libpq does with
   * a root certificate in `require` and `prefer` (chain only; `verify-full` adds the host name).
   */
  readonly trustAnchor?: { readonly file: string; readonly from: string };
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Home folder for libpq's defaults under ~/.postgresql/. @default os.homedir() */
  readonly home?: string;
}

/**
 * Read a connection string as libpq does, for node-postgres. node-postgres on its own reads
 * `sslmode=require` (and `prefer`, `verify-ca`) as `verify-full`, so a pair whose servers use a
 * private CA fails with "unable to verify the first certificate" where libpq connects; here each
 * mode means what libpq says:
 *
 * - `disable`: no TLS; `prefer` (libpq's default): TLS when the server offers it, plain otherwise;
 * - `require`: TLS; the server is not verified unless a root certificate is known (then as `verify-ca`);
 * - `verify-ca`: TLS, the server's chain verified against the root certificate;
 * - `verify-full`: as `verify-ca`, and the certificate must name the host.
 *
 * The root certificate is `sslrootcert`, else PGSSLROOTCERT, else the caller's trust anchor, else
 * ~/.postgresql/root.crt when it exists (`sslrootcert=system`: the system's CAs, verify-full only);
 * the client certificate is `sslcert`/`sslkey`, else PGSSLCERT/PGSSLKEY, else
 * ~/.postgresql/postgresql.crt and .key when they exist. A password in the string is refused
 * (ConnectionStringError); PGPASSWORD and ~/.pgpass still work, as node-postgres reads them.
 * Nothing is read here but the string: files are read by `clientOptions()`.
 */
export function pgConnection(conn: string, opts: ConnectionOptions): PgConnection {
  const env = opts.env ?? process.env;
  const fail = (key: string, params: Readonly<Record<string, string | number | CatalogueMessage>> = {}) => {
    const m = catalogueMessage(LIB, `pgConn.${key}`, params);
    return new ConnectionStringError(opts.source, m.message, m.localized);
  };
  let secret: string | undefined;
  let params: Map<string, string>;
  try {
    secret = passwordIn(conn);
    params = connectionParams(conn);
  } catch (err) {
    throw fail('parse', { why: (err as Error).message.replace(/^not a postgres/, 'is not a postgres') });
  }
  if (secret !== undefined) throw fail('password', { secret, alternatives: catalogueMessage(LIB, 'pgConn.alternatives').localized });
  for (const key of params.keys()) {
    if (key === 'uselibpqcompat') throw fail('libpqCompat');
    if (!KEYWORDS.has(key)) throw fail('unknownParam', { key, known: [...KEYWORDS].join(', ') });
  }
  const get = (key: string, envVar?: string) => params.get(key) ?? (envVar ? env[envVar] || undefined : undefined);
  const host = get('host', 'PGHOST') ?? 'localhost';
  if (host.includes(',')) throw fail('severalHosts', { host });
  const portText = get('port', 'PGPORT') ?? '5432';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw fail('port', { port: portText });
  const modeText = get('sslmode', 'PGSSLMODE') ?? 'prefer';
  if (modeText === 'allow') throw fail('sslAllow');
  if (!SSL_MODES.includes(modeText as SslMode)) throw fail('sslmode', { mode: modeText, modes: SSL_MODES.join(', ') });
  const sslmode = modeText as SslMode;
  const home = opts.home ?? homedir();
  const existing = (f: string) => (existsSync(f) ? f : undefined);
  const rootParam = params.get('sslrootcert');
  const rootEnv = env.PGSSLROOTCERT || undefined;
  const homeRoot = existing(join(home, '.postgresql', 'root.crt'));
  const root: { file: string; from: string } | undefined =
    rootParam !== undefined
      ? { file: rootParam, from: `sslrootcert of ${opts.source}` }
      : rootEnv !== undefined
        ? { file: rootEnv, from: 'PGSSLROOTCERT' }
        : (opts.trustAnchor ?? (homeRoot ? { file: homeRoot, from: "libpq's default ~/.postgresql/root.crt" } : undefined));
  const systemRoots = root?.file === 'system';
  if (systemRoots && sslmode !== 'verify-full') throw fail('systemRoots', { mode: sslmode });
  if ((sslmode === 'verify-ca' || sslmode === 'verify-full') && root === undefined) {
    throw fail('noRoot', { mode: sslmode });
  }
  const socket = host.startsWith('/');
  const base: PgClientOptions = { host, port, ssl: false };
  const user = get('user', 'PGUSER');
  const database = get('dbname', 'PGDATABASE');
  if (user !== undefined) base.user = user;
  if (database !== undefined) base.database = database;
  for (const [key, envVar] of [['application_name', 'PGAPPNAME'], ['fallback_application_name'], ['options', 'PGOPTIONS'], ['client_encoding', 'PGCLIENTENCODING']] as const) {
    const v = get(key, envVar);
    if (v !== undefined) base[key] = v;
  }
  const timeout = get('connect_timeout', 'PGCONNECT_TIMEOUT');
  if (timeout !== undefined) {
    if (!/^\d+$/.test(timeout)) throw fail('connectTimeout', { value: timeout });
    // libpq waits at least 2 seconds; 0 means no limit.
    if (Number(timeout) > 0) base.connectionTimeoutMillis = Math.max(2, Number(timeout)) * 1000;
  }
  const keepalives = params.get('keepalives');
  if (keepalives !== undefined) base.keepAlive = keepalives !== '0';
  const idle = params.get('keepalives_idle');
  if (idle !== undefined) {
    if (!/^\d+$/.test(idle)) throw fail('keepalivesIdle', { value: idle });
    base.keepAliveInitialDelayMillis = Number(idle) * 1000;
  }
  if (socket || sslmode === 'disable') {
    const tls = socket ? 'no TLS (a Unix socket: libpq ignores sslmode there)' : 'no TLS (sslmode=disable)';
    return { source: opts.source, host, port, socket, sslmode, tls, negotiate: false, clientOptions: () => ({ ...base }) };
  }
  const cert = params.get('sslcert') ?? (env.PGSSLCERT || undefined) ?? existing(join(home, '.postgresql', 'postgresql.crt'));
  const key = params.get('sslkey') ?? (env.PGSSLKEY || undefined) ?? existing(join(home, '.postgresql', 'postgresql.key'));
  if ((cert === undefined) !== (key === undefined)) {
    throw fail(cert === undefined ? 'keyWithoutCert' : 'certWithoutKey');
  }
  const crl = params.get('sslcrl') ?? (env.PGSSLCRL || undefined);
  const prefer = sslmode === 'prefer' ? ' if the server offers it' : '';
  const anchor = root === undefined ? '' : systemRoots ? "the system's CAs" : `${root.file} (${root.from})`;
  const tls =
    root === undefined
      ? `TLS${prefer}, server not verified (sslmode=${sslmode} and no root certificate)`
      : `TLS${prefer}, server verified against ${anchor}, ${sslmode === 'verify-full' ? 'host name checked' : 'host name not checked'} (sslmode=${sslmode})`;
  const read = (file: string, what: CatalogueMessage) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw fail('unreadable', { what, file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
    }
  };
  const clientOptions = (): PgClientOptions => {
    const ssl: Exclude<PgClientOptions['ssl'], false> = { rejectUnauthorized: root !== undefined };
    if (root !== undefined && !systemRoots) ssl.ca = read(root.file, catalogueMessage(LIB, 'pgConn.what.root', { from: root.from }).localized);
    if (sslmode !== 'verify-full') ssl.checkServerIdentity = () => undefined;
    if (cert !== undefined && key !== undefined) {
      ssl.cert = read(cert, catalogueMessage(LIB, 'pgConn.what.cert').localized);
      ssl.key = read(key, catalogueMessage(LIB, 'pgConn.what.key').localized);
    }
    if (crl !== undefined) ssl.crl = read(crl, catalogueMessage(LIB, 'pgConn.what.crl').localized);
    return { ...base, ssl };
  };
  return { source: opts.source, host, port, socket, sslmode, ...(root ? { root } : {}), tls, negotiate: sslmode === 'prefer', clientOptions };
}
