import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdirSync(path, { recursive: true })` (and the
 * promise form) never returns for a path under /proc such as `/proc/nope/x`: it spins at 100% CPU
 * instead of failing, so a mistyped `--out` would hang a command. Creating each missing level
 * with a plain mkdir surfaces the kernel's answer (ENOENT, EACCES, ENOTDIR, EROFS) at once.
 * An existing directory is fine; an existing file where a directory must be is EEXIST (the path
 * itself) or ENOTDIR (an ancestor), as `mkdir -p` says. `mode` applies to the levels created.
 */
export function makeDirs(path: string, mode?: number): void {
  const target = resolve(path);
  const missing: string[] = [];
  // Walk up to the nearest existing ancestor: at most as many steps as the path has levels.
  for (let at = target; ; ) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      missing.push(at);
      at = parent;
      continue;
    }
    if (!isDir) {
      const code = at === target ? 'EEXIST' : 'ENOTDIR';
      throw Object.assign(new Error(`${code}: ${at === target ? 'file already exists' : 'not a directory'}, mkdir '${target}'`), { code, path: target, syscall: 'mkdir' });
    }
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, mode === undefined ? undefined : { mode });
    } catch (err) {
      // made meanwhile by another process: fine if it is a directory
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw err;
    }
  }
}
