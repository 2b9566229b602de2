import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rosterTemplate } from '../index.js';

/** A valid GB 11643 identity code from a 17-digit body (the check character computed). */
export function identityCode(body17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(body17[i]), 0);
  return body17 + '10X98765432'[sum % 11]!;
}

/** The identity code of person `n` (distinct for each n). */
export const idOf = (n: number) => identityCode(`44010619800101${String(n).padStart(3, '0')}`);

export interface Person {
  readonly no: string;
  readonly name: string;
  readonly id?: string;
  readonly dept?: string;
  readonly email?: string;
  readonly status?: string;
  readonly site?: string;
}

/** A roster CSV (site roster, or whole-nation when `nation`). */
export function rosterCsv(people: readonly Person[], nation = false): string {
  return (
    rosterTemplate(nation) +
    people.map((p, i) => [...(nation ? [p.site ?? '440100'] : []), p.no, p.name, p.id ?? idOf(i + 1), '', p.dept ?? '社保处', p.email ?? '', p.status ?? 'active'].join(',')).join('\n') +
    '\n'
  );
}

export function writeRoster(dir: string, name: string, content: string | Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}
