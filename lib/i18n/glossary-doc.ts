import type { GlossaryEntry } from './index.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** docs/zh-CN/glossary.md, rendered from lib/i18n/glossary.yaml (scripts/glossary.ts writes it; a test compares). */
export function renderGlossaryMarkdown(glossary: Readonly<Record<string, GlossaryEntry>>): string {
  const rows = Object.entries(glossary).map(
    ([key, e]) => `| ${cell(e.zh)} | ${cell(e.en)} | ${cell(e.source)} | ${e.avoid?.length ? cell(e.avoid.join('、')) : ''} | ${cell(e.note ?? '')} | \`${key}\` |`,
  );
  return [
    '# 术语表 / Glossary',
    '',
    '<!-- Rendered from lib/i18n/glossary.yaml by `npx tsx scripts/glossary.ts`; edit the YAML, not this file. -->',
    '',
    'jinbao 的中文界面、安全态势报告和中文文档统一使用下列术语，取自规划原文（人力资源和社会保障信息化建设“十二五”规划）、',
    'GB/T 22239-2019（网络安全等级保护基本要求）、GB/T 39786-2021 和 GB/T 20988。“不用”一栏的说法不在 jinbao 中使用。',
    'Messages name a term as `$t(term:KEY)`; the Chinese docs use the 中文 column and never the 不用 column (a test checks).',
    '',
    '| 中文 | English | 出处 / source | 不用 / avoid | 说明 / note | key |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
