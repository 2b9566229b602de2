import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeKpis } from '../kpi.js';
import { builtInInventory, validateInventory } from '../load.js';

/**
 * The plan's indicator table (专栏2) read from the plan itself, at test time, and compared with the
 * indicators jinbao computes: every row (and every item of a row with several figures) must have
 * exactly one indicator with the same target and kind.
 */
const SEED_DIR = process.env.JINBAO_SEED_DIR ?? '/work/shared/seed';

interface TableEntry {
  readonly row: number;
  readonly item?: string;
  readonly unit: string;
  readonly op: '>=' | '>';
  readonly value: number;
  readonly kind: 'binding' | 'expected';
}

const KIND: Readonly<Record<string, TableEntry['kind']>> = { 约束性: 'binding', 预期性: 'expected' };

/**
 * The table as the plan's text gives it, one cell per line: row number, title with its unit, then
 * either a figure or (item, figure) pairs; the kind follows a figure and carries on to the next
 * items of the row when omitted (a merged cell). A plain number right after a figure starts the next
 * row: figures never follow each other.
 */
function parsePlanTable(text: string): TableEntry[] {
  const lines = text.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith('专栏2'));
  const end = lines.findIndex((l, i) => i > start && /^[一二三四五六七八九十]+、/.test(l));
  const cells = lines.slice(start + 1, end).filter((l) => l !== '');
  const body = cells.slice(cells.indexOf('属性') + 1);
  const entries: TableEntry[] = [];
  let row = 0;
  let unit = '';
  let kind: TableEntry['kind'] | undefined;
  let item: string | undefined;
  let expect: 'row' | 'title' | 'figure-or-item' | 'after-figure' = 'row';
  const pending: Omit<TableEntry, 'kind'>[] = [];
  const flush = () => {
    if (kind === undefined) throw new Error(`row ${row} has no kind`);
    for (const p of pending.splice(0)) entries.push({ ...p, kind });
  };
  for (const cell of body) {
    const figure = /^(>)?\s*(\d+(?:\.\d+)?)$/.exec(cell);
    if (expect === 'row' || (expect === 'after-figure' && figure && !figure[1] && Number(figure[2]) > row)) {
      if (pending.length > 0) flush();
      row = Number(cell);
      kind = undefined;
      expect = 'title';
    } else if (expect === 'title') {
      unit = /（(.+)）$/.exec(cell)?.[1] ?? '';
      item = undefined;
      expect = 'figure-or-item';
    } else if (KIND[cell]) {
      kind = KIND[cell];
      flush();
    } else if (figure) {
      pending.push({ row, ...(item ? { item } : {}), unit, op: figure[1] ? '>' : '>=', value: Number(figure[2]) });
      expect = 'after-figure';
    } else {
      item = cell;
      expect = 'figure-or-item';
    }
  }
  if (pending.length > 0) flush();
  return entries;
}

function seedText(): string {
  const file = readdirSync(SEED_DIR).find((f) => f.endsWith('.txt'));
  if (!file) throw new Error(`no plan text in ${SEED_DIR}`);
  return readFileSync(join(SEED_DIR, file), 'utf8');
}

describe("the plan's indicator table (专栏2)", () => {
  const table = parsePlanTable(seedText());
  const kpis = computeKpis(validateInventory(builtInInventory(), 'built-in').fabric!);

  it('GIVEN the plan text THEN its table is read whole: 12 numbered rows as the plan prints them, 16 figures', () => {
    // The plan's text numbers the rows 1-7 and 10-12; rows 8 and 9 are absent from it.
    expect([...new Set(table.map((e) => e.row))]).toEqual([1, 2, 3, 4, 5, 6, 7, 10, 11, 12]);
    expect(table).toHaveLength(16);
    expect(table.find((e) => e.row === 7)).toEqual({ row: 7, unit: '亿人', op: '>=', value: 8, kind: 'binding' });
    expect(table.find((e) => e.row === 12)).toEqual({ row: 12, unit: '%', op: '>=', value: 70, kind: 'expected' });
  });

  it('GIVEN every figure of the table THEN jinbao computes exactly one indicator for it, with the same target, unit and kind', () => {
    const rows = table.map((e) => {
      // The plan's text lost the first character of row 3's first item ("社会保障管理服务机构").
      const matching = kpis.filter((k) => k.plan?.row === e.row && (e.item === undefined || (k.plan.item ?? '').endsWith(e.item)));
      return {
        plan: `${e.row}${e.item ? ` ${e.item}` : ''}`,
        indicators: matching.map((k) => ({ unit: k.unit, op: k.target.op, value: k.target.value, kind: k.kind })),
      };
    });
    expect(rows).toEqual(table.map((e) => ({ plan: `${e.row}${e.item ? ` ${e.item}` : ''}`, indicators: [{ unit: e.unit, op: e.op, value: e.value, kind: e.kind }] })));
  });

  it('GIVEN the indicators jinbao computes THEN each one is a row of the table, except the one the plan states in its text only', () => {
    const outside = kpis.filter((k) => !table.some((e) => e.row === k.plan?.row && (e.item === undefined || (k.plan.item ?? '').endsWith(e.item))));
    // Part 二 of the plan: "安全等级三级以上的应用系统普遍使用数字证书" — a goal of the text, not a row of the table.
    expect(outside.map((k) => k.id)).toEqual(['mlps3-certificates']);
  });
});
