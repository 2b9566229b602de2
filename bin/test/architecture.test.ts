/**
 * The import rules docs/architecture.md draws, checked on the source as it is:
 * - no import cycle anywhere in the project, type-only imports included;
 * - no command file imports another command's file (a command with sub-commands keeps them in its
 *   own folder, bin/commands/<name>/, and only those files import each other).
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph, type ImportGraph } from '../../scripts/import-graph.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The command a file of bin/commands/ belongs to: `drill` for drill/run.ts and for drill.ts; undefined for index.ts. */
function commandOf(file: string): string | undefined {
  const m = /^bin\/commands\/([^/]+?)(?:\.ts|\/.*)$/.exec(file);
  if (!m || m[1] === 'index') return undefined;
  return m[1];
}

/** Imports from one command's files into another command's files. */
function crossCommandImports(graph: ImportGraph): string[] {
  const found: string[] = [];
  for (const [from, targets] of graph) {
    const own = commandOf(from);
    if (own === undefined) continue;
    for (const to of targets) {
      const other = commandOf(to);
      if (other !== undefined && other !== own) found.push(`${from} → ${to}`);
    }
  }
  return found;
}

describe('import rules', () => {
  const graph = importGraph(ROOT);

  it('reads the whole project, type-only imports included', () => {
    expect(graph.get('bin/cli.ts')).toContain('bin/commands/index.ts');
    // `import type { Runner } from '../runner.js'` is an edge like any other.
    expect(graph.get('bin/commands/up.ts')).toContain('bin/runner.ts');
    expect(graph.size).toBeGreaterThan(200);
  });

  it('GIVEN the project source THEN no module imports itself through others', () => {
    const cycles = importCycles(graph);
    expect(cycles.map((c) => c.join(' ⇄ '))).toEqual([]);
  });

  it('GIVEN bin/commands THEN no command imports another command', () => {
    expect(crossCommandImports(graph)).toEqual([]);
  });

  it('finds a cycle made of type-only imports and a command importing another', () => {
    const made: ImportGraph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['a.ts']],
      ['c.ts', []],
      ['bin/commands/drill/run.ts', ['bin/commands/drill/request.ts', 'bin/commands/pki/core.ts']],
      ['bin/commands/index.ts', ['bin/commands/drill/index.ts']],
    ]);
    expect(importCycles(made)).toEqual([['a.ts', 'b.ts']]);
    expect(crossCommandImports(made)).toEqual(['bin/commands/drill/run.ts → bin/commands/pki/core.ts']);
  });
});
