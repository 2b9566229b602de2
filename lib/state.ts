import { resolve } from 'node:path';
import { JinbaoError, ExitCode } from './errors.js';
import { jinbaoError, LIB } from './i18n/index.js';
import { pgConnection } from './pg-conn.js';

/**
 * Where the state store is. The store itself is lib/sql (`openDatabase`): the embedded SQLite file
 * `jinbao.db` in a directory, or a shared PostgreSQL database.
 */

/** Where the state lives: the SQLite directory, or a PostgreSQL database plus a local working folder. */
export type StateTarget =
  | { readonly kind: 'sqlite'; readonly dir: string }
  | {
      readonly kind: 'postgresql';
      /** The connection string as given (it never holds a password: lib/pg-conn.ts refuses one). */
      readonly url: string;
      /** `--state` or `JINBAO_STATE`, for messages. */
      readonly source: string;
      /** Local working files (labs, drill reports): `JINBAO_WORK_DIR`, else `.jinbao/` here. Nothing shared. */
      readonly dir: string;
    };

/**
 * The state: `--state`, else `JINBAO_STATE`, else `.jinbao/` in the working directory. A
 * postgresql:// (or postgres://) URL names the shared backend; any other URL is refused, so that a
 * typo never becomes a new SQLite store in a folder named after a scheme.
 */
export function resolveState(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): StateTarget {
  const value = flag ?? env.JINBAO_STATE ?? '.jinbao';
  const source = flag !== undefined ? '--state' : 'JINBAO_STATE';
  // Only the scheme is repeated: the rest may hold a password.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value.trim())?.[1];
  if (scheme !== undefined && /^postgres(ql)?$/i.test(scheme)) {
    // Checked before any command runs: a password in it, or a malformed string, is refused here.
    pgConnection(value.trim(), { source, env });
    return { kind: 'postgresql', url: value.trim(), source, dir: resolve(env.JINBAO_WORK_DIR ?? '.jinbao') };
  }
  if (scheme !== undefined) {
    throw jinbaoError(LIB, 'store.otherUrl', { from: source, scheme }, { exitCode: ExitCode.invalidInput });
  }
  return { kind: 'sqlite', dir: resolve(value) };
}

/** The SQLite state directory, for what only works on the embedded store; a URL is refused. */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const target = resolveState(flag, env);
  if (target.kind === 'postgresql') {
    throw jinbaoError(LIB, 'store.needsDirectory', { from: target.source }, { exitCode: ExitCode.invalidInput });
  }
  return target.dir;
}
