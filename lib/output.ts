/** Terminal output helpers: aligned tables that respect CJK double-width characters. */

export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ? 2 : 1;
  }
  return w;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'left' ? text + fill : fill + text;
}

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | undefined;
  readonly align?: 'left' | 'right';
}

/** Render rows as an aligned text table with a header line. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r) ?? '')));
  const widths = columns.map((c, i) => Math.max(displayWidth(c.header), ...cells.map((row) => displayWidth(row[i]!))));
  const line = (values: string[]) =>
    values
      .map((v, i) => pad(v, widths[i]!, columns[i]!.align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Pretty JSON with a final newline; Maps as objects, Sets as arrays; properties named in `omit` left out. */
export function json(value: unknown, omit: readonly string[] = []): string {
  return JSON.stringify(value, (k, v) => (omit.includes(k) ? undefined : v instanceof Map ? Object.fromEntries(v) : v instanceof Set ? [...v] : v), 2) + '\n';
}
