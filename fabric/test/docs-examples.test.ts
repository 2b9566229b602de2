import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';

/**
 * Every ```console example in docs/ shows a `$ jinbao ...` command and the text it prints. Each one
 * is run here against the real CLI, so the docs cannot drift from what users see.
 */
const docsDir = join(import.meta.dirname, '..', '..', 'docs');

interface Example {
  readonly doc: string;
  readonly args: string[];
  readonly output: string;
}

function examples(): Example[] {
  const found: Example[] = [];
  for (const doc of readdirSync(docsDir).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(docsDir, doc), 'utf8');
    for (const m of text.matchAll(/^```console\n\$ jinbao (.*)\n([\s\S]*?)^```$/gm)) {
      found.push({ doc, args: m[1]!.split(/\s+/), output: m[2]!.trimEnd() });
    }
  }
  return found;
}

describe('the examples in docs/', () => {
  const all = examples();

  it('GIVEN the docs THEN they hold the inventory validation examples', () => {
    expect(all.map((e) => `${e.doc}: ${e.args.join(' ')}`)).toEqual(
      expect.arrayContaining([
        'inventory.md: inventory validate docs/examples/inventory-with-problems.yaml',
        'inventory.md: inventory validate docs/examples/empty-inventory.yaml',
      ]),
    );
  });

  for (const e of all) {
    it(`GIVEN ${e.doc}'s example "jinbao ${e.args.join(' ')}" THEN the real command prints exactly that`, async () => {
      const state = tempDir();
      try {
        const r = await runCli(e.args, { JINBAO_STATE: state.dir });
        expect(`${r.stdout}${r.stderr}`.trimEnd()).toBe(e.output);
      } finally {
        state.cleanup();
      }
    });
  }
});
