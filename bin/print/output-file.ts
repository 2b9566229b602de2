import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../lib/errors.js';
import type { Context } from '../context.js';

/** Refuse an output path that cannot be written, before doing any work. */
export function checkWritable(file: string, flag: string): void {
  const abs = resolve(file);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new InputError(`${flag} ${file} is a directory, want a file path`);
  const dir = dirname(abs);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new InputError(`${flag} ${file} cannot be written: the folder ${dir} does not exist or is not writable; create it or choose another path`);
  }
}

/** Write `text` to `file`, or to stdout when no file is given. */
export function writeOutput(ctx: Context, text: string, file: string | undefined): void {
  if (file === undefined) {
    ctx.out(text);
    return;
  }
  try {
    writeFileSync(file, text);
  } catch (err) {
    throw new InputError(`cannot write ${file}: ${(err as Error).message}; choose another path`, { cause: err });
  }
}
