/**
 * Refresh the English help texts in bin/locales/en.json from the commands' sources, keeping the
 * rest of the file; then translate the keys that bin/test/help-i18n.test.ts reports in zh-CN.json.
 * Usage: npx tsx scripts/help-catalogue.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../bin/cli.js';
import { CLI, helpTexts } from '../bin/help.js';
import { projectRoot } from '../lib/package-info.js';

type Tree = { [k: string]: string | Tree };
const file = join(projectRoot(), CLI.dir, 'en.json');
const catalogue = JSON.parse(readFileSync(file, 'utf8')) as Tree;
for (const group of ['cmd', 'opt', 'optDefault', 'arg', 'after']) delete catalogue[group];
const program = buildProgram({ stdout: process.stdout, stderr: process.stderr, env: {} }, { exitCode: 0 });
for (const [key, text] of helpTexts(program)) {
  // command paths hold no dots: `opt.pki issue.--site` is group, command, option
  const [group, path, option] = key.split('.') as [string, string, string | undefined];
  const node = (catalogue[group] ??= {}) as Tree;
  if (option === undefined) node[path] = text;
  else ((node[path] ??= {}) as Tree)[option] = text;
}
writeFileSync(file, `${JSON.stringify(catalogue, null, 2)}\n`);

