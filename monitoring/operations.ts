import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../lib/errors.js';
import { renderMonitoring } from './render.js';

/** Write the rule files and the dashboard into `dir`; returns the paths written. Used by `monitoring render`, `comply` and `up`. */
export function writeMonitoring(dir: string, opts: { exchangeSlo?: number } = {}): string[] {
  const written: string[] = [];
  for (const [rel, text] of Object.entries(renderMonitoring(opts))) {
    const path = join(dir, rel);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    } catch (err) {
      throw new InputError(`cannot write ${path}: ${(err as Error).message}; choose another --out folder`, { cause: err });
    }
    written.push(path);
  }
  return written;
}
