/** Writes docs/zh-CN/glossary.md from lib/i18n/glossary.yaml: `npx tsx scripts/glossary.ts`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderGlossaryMarkdown } from '../lib/i18n/glossary-doc.js';
import { readGlossary } from '../lib/i18n/index.js';
import { projectRoot } from '../lib/package-info.js';

const file = join(projectRoot(), 'docs/zh-CN/glossary.md');
writeFileSync(file, renderGlossaryMarkdown(readGlossary()));
process.stdout.write(`wrote ${file}\n`);
