import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { smallInput } from './fixture.js';

export { collapsePrefixes, generateKeyPair, saveCheck } from '../index.js';

/** The small test inventory as a JSON file in `dir`. */
export function smallInputFile(dir: string): string {
  const file = join(dir, 'small.json');
  writeFileSync(file, JSON.stringify(smallInput()));
  return file;
}
