import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderMonitoring } from './render.js';
import { makeDirs } from '../lib/dirs.js';
import { inputError, LIB } from '../lib/i18n/index.js';

/** Write the rule files and the dashboard into `dir`; returns the paths written. Used by `monitoring render`, `comply` and `up`. */
export function writeMonitoring(dir: string, opts: { exchangeSlo?: number } = {}): string[] {
  const written: string[] = [];
  for (const [rel, text] of Object.entries(renderMonitoring(opts))) {
    const path = join(dir, rel);
    try {
      makeDirs(dirname(path));
      writeFileSync(path, text);
    } catch (err) {
      throw inputError(LIB, 'out.cannotWrite', { path, why: (err as Error).message }, { cause: err });
    }
    written.push(path);
  }
  return written;
}
