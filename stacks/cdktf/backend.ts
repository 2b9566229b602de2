import { InputError } from '../../lib/errors.js';
import { passwordIn as findPassword, UnreadableConnectionString } from '../../lib/pg-conn.js';

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
          `remove it and give terraform the password in PGPASSWORD or ~/.pgpass (e.g. --backend-conn ${EXAMPLE_URI}) or log in with a client certificate (sslcert=FILE sslkey=FILE), ` +
          'or leave out --backend-conn and export PG_CONN_STR before terraform init',
      );
    }
    return { kind: 'pg', connStr };
  }
  throw new InputError(`--backend must be "local" or "pg", got "${kind}"`);
}

/** Where a connection string carries a password (see lib/pg-conn.ts); an unreadable one is refused as --backend-conn. */
export function passwordIn(conn: string): string | undefined {
  try {
    return findPassword(conn);
  } catch (err) {
    if (!(err instanceof UnreadableConnectionString)) throw err;
    throw new InputError(
      `--backend-conn is neither a postgres:// URI nor key=value pairs (unreadable from character ${err.at}); ` + `give one like ${EXAMPLE_URI} or "host=db.example user=terraform dbname=jinbao"`,
      { cause: err },
    );
  }
}
