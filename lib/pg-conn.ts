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
