import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { inputError } from '../../lib/i18n/index.js';
import type { Context } from '../context.js';
import { CLI } from '../help.js';

/** Refuse an output path that cannot be written, before doing any work. */
export function checkWritable(file: string, flag: string): void {
  const abs = resolve(file);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw inputError(CLI, 'output.isDirectory', { flag, file });
  const dir = dirname(abs);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw inputError(CLI, 'output.folderMissing', { flag, file, dir });
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
    throw inputError(CLI, 'output.cannotWrite', { file, reason: (err as Error).message }, { cause: err });
  }
}
