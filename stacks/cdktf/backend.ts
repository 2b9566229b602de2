import { InputError } from '../../lib/errors.js';

/** Where Terraform keeps a site stack's state: a local file, or a PostgreSQL database shared by a team. */
export type Backend = { readonly kind: 'local' } | { readonly kind: 'pg'; readonly connStr: string };

/** Build the backend from `--backend` / `--backend-conn`. */
export function parseBackend(kind: string | undefined, connStr: string | undefined): Backend {
  if (kind === undefined || kind === 'local') {
    if (connStr !== undefined) throw new InputError('--backend-conn is only used with --backend pg; drop it or add --backend pg');
    return { kind: 'local' };
  }
  if (kind === 'pg') {
    if (!connStr) throw new InputError('--backend pg needs --backend-conn, e.g. --backend-conn postgres://terraform@db.example/jinbao (keep the password in PGPASSWORD)');
    return { kind: 'pg', connStr };
  }
  throw new InputError(`--backend must be "local" or "pg", got "${kind}"`);
}
