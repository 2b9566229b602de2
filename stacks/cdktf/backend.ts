import { inputError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';
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
    if (connStr !== undefined) throw inputError(STACKS_MESSAGES, 'backend.connWithoutPg');
    return { kind: 'local' };
  }
  if (kind === 'pg') {
    if (connStr === undefined) return { kind: 'pg' };
    if (connStr.trim() === '') throw inputError(STACKS_MESSAGES, 'backend.connEmpty', { example: EXAMPLE_URI });
    const where = passwordIn(connStr);
    if (where !== undefined) {
      throw inputError(STACKS_MESSAGES, 'backend.connPassword', { where, example: EXAMPLE_URI });
    }
    return { kind: 'pg', connStr };
  }
  throw inputError(STACKS_MESSAGES, 'backend.unknown', { kind });
}

/** Where a connection string carries a password (see lib/pg-conn.ts); an unreadable one is refused as --backend-conn. */
export function passwordIn(conn: string): string | undefined {
  try {
    return findPassword(conn);
  } catch (err) {
    if (!(err instanceof UnreadableConnectionString)) throw err;
    throw inputError(STACKS_MESSAGES, 'backend.connUnreadable', { at: err.at, example: EXAMPLE_URI }, { cause: err });
  }
}
