import type { CatalogueMessage } from '../lib/errors.js';

/** A validation problem with its location in the inventory (`sites[12].parent`). */
export interface Problem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** The message as a catalogue entry (fabric/locales/), to print it in the user's language; `message` is its English text. */
  readonly said?: CatalogueMessage;
  /** "file:line:column" when the problem came from a file. */
  readonly location?: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out || '(root)';
}

export function formatProblem(p: Problem): string {
  const where = p.path.length === 0 ? '' : `${formatPath(p.path)}: `;
  return p.location ? `${p.location}: ${where}${p.message}` : `${where}${p.message}`;
}
