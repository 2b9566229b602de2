/**
 * The machine-readable outputs that scripts and dashboards read are promises: `up --json`, `kpi --json`,
 * `comply --format json` and `inventory show --json`, on a fresh state, must stay byte-identical to the
 * committed files in bin/test/golden/ (after normalising only what cannot repeat, see `normalise`).
 *
 * When an output changes ON PURPOSE, regenerate the files and review the diff like code:
 *
 *   JINBAO_UPDATE_GOLDEN=1 npx vitest run bin/test/golden.test.ts
 *   git diff bin/test/golden/
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';
import { goldenCases, normalise } from './golden-normalise.js';

const GOLDEN_DIR = join(import.meta.dirname, 'golden');
const UPDATE = process.env.JINBAO_UPDATE_GOLDEN === '1';
const tmp = tempDir('jinbao-golden-');
afterAll(() => tmp.cleanup());

const CASES = goldenCases(join(tmp.dir, 'state'), join(tmp.dir, 'out'));

describe('machine-readable outputs stay as committed (bin/test/golden/)', () => {
  const codes: Record<string, { code: number; stderr: string }> = {};
  const goldenCodesFile = join(GOLDEN_DIR, 'exit-codes.json');

  for (const c of CASES) {
    it(`GIVEN a fresh state WHEN jinbao ${c.title} runs THEN its stdout matches golden/${c.name}.json`, { timeout: 180_000 }, async () => {
      const r = await runCli(c.args);
      const actual = normalise(r.stdout, tmp.dir, Date.now());
      codes[c.name] = { code: r.code, stderr: normalise(r.stderr, tmp.dir, Date.now()) };
      const file = join(GOLDEN_DIR, `${c.name}.json`);
      if (UPDATE) {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(file, actual);
        return;
      }
      expect(JSON.parse(actual)).toBeTypeOf('object');
      expect(actual, `jinbao ${c.name}: the output differs from ${file}; if the change is intended, regenerate (see the top of this file)`).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('THEN each exits with the committed code and writes the committed stderr', () => {
    const text = JSON.stringify(codes, null, 2) + '\n';
    if (UPDATE) {
      writeFileSync(goldenCodesFile, text);
      return;
    }
    expect(text).toBe(readFileSync(goldenCodesFile, 'utf8'));
  });
});

describe('normalise', () => {
  const now = Date.parse('2026-12-04T05:00:00Z');
  it('numbers serials by first appearance, so equal ones stay equal and different ones differ', () => {
    const a = 'ab'.repeat(16);
    const b = 'cd'.repeat(16);
    expect(normalise(`${a} ${b} ${a}`, '/nowhere', now)).toBe('<serial-1> <serial-2> <serial-1>');
  });
  it("replaces dates near the run's day and timestamps, and keeps fixed dates", () => {
    expect(normalise('until 2027-12-04, at 2026-12-04T05:31:08.464Z, target 2015-12-31', '/nowhere', now)).toBe('until <date>, at <timestamp>, target 2015-12-31');
  });
  it('replaces the temporary directory and measured seconds only', () => {
    expect(normalise('{"dir": "/tmp/x1/out", "seconds": 1.2669, "count": 12}', '/tmp/x1', now)).toBe('{"dir": "<tmp>/out", "seconds": "<seconds>", "count": 12}');
  });
});
