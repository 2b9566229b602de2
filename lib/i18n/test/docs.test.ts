import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../package-info.js';
import { renderGlossaryMarkdown } from '../glossary-doc.js';
import { readGlossary } from '../index.js';

const root = projectRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const glossary = readGlossary();
/** Every Chinese catalogue of the project (`<folder>/locales/zh-CN.json`). */
function zhCatalogues(dir = '.'): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    if (!e.isDirectory() || e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) return [];
    const path = dir === '.' ? e.name : `${dir}/${e.name}`;
    return e.name === 'locales' ? [`${path}/zh-CN.json`] : zhCatalogues(path);
  });
}
const zhDocs = ['README.zh-CN.md', ...readdirSync(join(root, 'docs/zh-CN')).filter((f) => f.endsWith('.md')).map((f) => `docs/zh-CN/${f}`)];

/**
 * The commands a CLI doc documents: the first cell of each table row, every `jinbao ...` in it, with
 * alternatives spelled `a\|b` expanded (`jinbao pki init\|issue` documents `pki init` and `pki issue`).
 */
export function documentedCommands(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of markdown.split('\n')) {
    const first = /^\| (.+?) \|/.exec(line)?.[1];
    if (!first) continue;
    for (const [, code] of first.matchAll(/`jinbao ([^`]*)`/g)) {
      const words: string[] = [];
      for (const w of code!.split(' ')) {
        if (!/^[a-z]/.test(w)) break;
        words.push(w);
      }
      if (words.length === 0) continue;
      const [group, sub] = words;
      if (sub?.includes('\\|')) for (const alt of sub.split('\\|')) found.add(`${group} ${alt}`);
      else found.add(words.slice(0, 2).join(' '));
    }
  }
  return found;
}

describe('the Chinese docs', () => {
  it('document every command docs/cli.md documents', () => {
    const en = documentedCommands(read('docs/cli.md'));
    const zh = documentedCommands(read('docs/zh-CN/cli.md'));
    expect(en.size).toBeGreaterThan(30);
    expect([...en].filter((c) => !zh.has(c))).toEqual([]);
  });

  it('the command list reads alternatives and stops at options (so the check above can fail)', () => {
    const doc = '| cmd | what |\n|---|---|\n| `jinbao pki init\\|issue\\|ocsp serve` | x |\n| `jinbao report [--out DIR]` / `jinbao kpi --json` | y |\n';
    expect([...documentedCommands(doc)].sort()).toEqual(['kpi', 'pki init', 'pki issue', 'pki ocsp', 'report']);
  });

  it('include the user-facing pages: quick start, CLI, PKI, drills, compliance, glossary', () => {
    expect(zhDocs.sort()).toEqual(['README.zh-CN.md', 'docs/zh-CN/cli.md', 'docs/zh-CN/compliance.md', 'docs/zh-CN/dr.md', 'docs/zh-CN/glossary.md', 'docs/zh-CN/pki.md']);
  });

  it('use the glossary terms, never the variants it rules out', () => {
    const offences: string[] = [];
    const catalogues = zhCatalogues();
    expect(catalogues).toContain('bin/locales/zh-CN.json');
    for (const path of [...zhDocs.filter((d) => !d.endsWith('glossary.md')), ...catalogues]) {
      const text = read(path);
      for (const [key, e] of Object.entries(glossary)) for (const bad of e.avoid ?? []) if (text.includes(bad)) offences.push(`${path} says "${bad}"; the glossary's term ${key} is "${e.zh}"`);
    }
    expect(offences).toEqual([]);
    const uses = (path: string, ...keys: string[]) => expect({ path, missing: keys.filter((k) => !read(path).includes(glossary[k]!.zh)) }).toEqual({ path, missing: [] });
    uses('docs/zh-CN/pki.md', 'digitalCertificate', 'crl', 'revoke', 'auditLog', 'mlpsLevel3');
    uses('docs/zh-CN/dr.md', 'drCenter', 'drDrill', 'rto', 'rpo');
    uses('docs/zh-CN/compliance.md', 'mlpsLevel3', 'postureReport', 'control', 'bindingIndicator');
    uses('README.zh-CN.md', 'prefecture', 'accessPlatform', 'grassrootsOutlet', 'drCenter', 'digitalCertificate', 'inventory');
  });

  it('docs/zh-CN/glossary.md is the glossary file rendered (npx tsx scripts/glossary.ts)', () => {
    expect(read('docs/zh-CN/glossary.md')).toBe(renderGlossaryMarkdown(glossary));
  });
});
