import { InputError } from '../../lib/errors.js';

/**
 * Where Terraform keeps a site stack's state: a local file, or a PostgreSQL database shared by a team,
 * one schema per site. `connStr` is written into every `cdk.tf.json`, so it never carries a password;
 * without it, Terraform (1.5 or later) reads the connection string from `PG_CONN_STR` when it runs.
 */
export type Backend = { readonly kind: 'local' } | { readonly kind: 'pg'; readonly connStr?: string };

/** The Terraform state schema of a site's stack in the pg backend. */
export const pgSchemaName = (siteId: string) => `jinbao_site_${siteId}`;

const EXAMPLE_URI = 'postgres://terraform@db.example/jinbao';

/** Build the backend from `--backend` / `--backend-conn`. */
export function parseBackend(kind: string | undefined, connStr: string | undefined): Backend {
  if (kind === undefined || kind === 'local') {
    if (connStr !== undefined) throw new InputError('--backend-conn is only used with --backend pg; drop it or add --backend pg');
    return { kind: 'local' };
  }
  if (kind === 'pg') {
    if (connStr === undefined) return { kind: 'pg' };
    if (connStr.trim() === '') throw new InputError('--backend-conn is empty; leave it out and export PG_CONN_STR before terraform init, or give one like ' + EXAMPLE_URI);
    const where = passwordIn(connStr);
    if (where !== undefined) {
      throw new InputError(
        `--backend-conn carries a password (${where}), and it would be written into every site's cdk.tf.json; ` +
          `remove it and give terraform the password in PGPASSWORD or ~/.pgpass (e.g. --backend-conn ${EXAMPLE_URI}), ` +
          'or leave out --backend-conn and export PG_CONN_STR before terraform init',
      );
    }
    return { kind: 'pg', connStr };
  }
  throw new InputError(`--backend must be "local" or "pg", got "${kind}"`);
}

/** Connection parameters that hold a secret: the password, and the passphrase of the client key. */
const SECRET_KEYS = new Set(['password', 'sslpassword']);

/**
 * Where a libpq connection string carries a password, or `undefined` when it carries none. Both
 * forms libpq takes are read: the URI (`postgres://user:password@host/db?password=...`) and
 * keyword/value pairs (`host=db password='...'`). Errs on the side of finding one: in a URI, a `:`
 * before the first `@` counts as a password even where a stricter parser would see a host and port.
 * Messages never repeat the string itself (it may hold the secret being refused).
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
function passwordInPairs(conn: string): string | undefined {
  const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:'(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)(?:[^\s\\]|\\.)*|(?=\s|$))/y;
  let found: string | undefined;
  let at = 0;
  while (at < conn.length) {
    if (/^\s*$/.test(conn.slice(at))) break;
    pair.lastIndex = at;
    const m = pair.exec(conn);
    if (!m) {
      throw new InputError(
        `--backend-conn is neither a postgres:// URI nor key=value pairs (unreadable from character ${at + 1}); ` +
          `give one like ${EXAMPLE_URI} or "host=db.example user=terraform dbname=jinbao"`,
      );
    }
    const key = m[1]!.toLowerCase();
    if (found === undefined && SECRET_KEYS.has(key)) found = `the "${key}" key`;
    at = pair.lastIndex;
  }
  return found;
}
