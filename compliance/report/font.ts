import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import subsetFont from 'subset-font';

/**
 * The embedded Chinese font: Noto Sans SC (SIL OFL 1.1) from the @fontsource/noto-sans-sc package,
 * cut down to the characters the page shows, so the report draws real glyphs on a machine without
 * any CJK font (a stock Debian, a headless Chromium) and stays small.
 *
 * Fontsource ships the font as ~100 woff2 slices, each with its `unicode-range`. The slices that hold
 * the page's characters are subset (HarfBuzz's hb-subset, via subset-font) to exactly those characters
 * and inlined as `data:` URLs, one `@font-face` per slice with the range of the characters it carries:
 * a browser then draws Latin text with the system fonts and only the Chinese with this face.
 */
export const EMBEDDED_FAMILY = 'Jinbao Noto Sans SC';

/**
 * The font stack of the report: Latin UI fonts, then the fonts Chinese systems have, then the embedded
 * subset, then the generic family. Not `system-ui`: Chromium on Linux resolves it through fontconfig
 * as a font that claims every character, so Chinese after it is drawn as boxes even when a later font
 * in the stack has the glyphs (measured with Debian's chromium and only DejaVu installed).
 */
export const FONT_STACK = `"Segoe UI", Roboto, "Helvetica Neue", Arial, "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC", "${EMBEDDED_FAMILY}", sans-serif`;

interface Slice {
  readonly file: string;
  readonly ranges: readonly (readonly [number, number])[];
}

let slices: readonly Slice[] | undefined;
function fontsourceDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@fontsource/noto-sans-sc/package.json'));
}

/** The regular-weight slices and their ranges, from the package's own stylesheet. */
function regularSlices(): readonly Slice[] {
  if (slices) return slices;
  const css = readFileSync(join(fontsourceDir(), '400.css'), 'utf8');
  slices = [...css.matchAll(/url\(\.\/files\/([^)]+-400-normal\.woff2)\)[^;]*;\s*unicode-range:\s*([^;]+);/g)].map((m) => ({
    file: m[1]!,
    ranges: m[2]!.split(',').map((r) => {
      const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
      return [parseInt(a!, 16), parseInt(b ?? a!, 16)] as const;
    }),
  }));
  if (slices.length === 0) throw new Error(`no font slices found in ${join(fontsourceDir(), '400.css')}`);
  return slices;
}

/** Characters the system's Latin fonts draw well: leave them to those. */
const needsEmbedding = (cp: number) => cp >= 0x2e80;

const hex = (cp: number) => `U+${cp.toString(16)}`;

export interface EmbeddedFont {
  /** `@font-face` rules, empty when the text has no character to embed. */
  readonly css: string;
  /** Size of the embedded woff2 data, in bytes (before base64). */
  readonly bytes: number;
  /** The characters embedded. */
  readonly chars: string;
}

/**
 * `@font-face` rules carrying exactly the glyphs `text` needs from Noto Sans SC. `display` is the
 * rules' font-display: `block` (default) for the page, which waits for its fonts before drawing;
 * `swap` for Chromium's PDF header and footer, which are printed at once and would stay blank while
 * a `block` face is still in its block period (measured: blank with block, real glyphs with swap).
 */
export async function embeddedFont(text: string, display: 'block' | 'swap' = 'block'): Promise<EmbeddedFont> {
  const wanted = [...new Set([...text].filter((c) => needsEmbedding(c.codePointAt(0)!)))].sort();
  const bySlice = new Map<Slice, string[]>();
  for (const ch of wanted) {
    const cp = ch.codePointAt(0)!;
    const slice = regularSlices().find((s) => s.ranges.some(([a, b]) => cp >= a && cp <= b));
    if (!slice) continue; // a character Noto Sans SC does not have: left to the fallback fonts
    bySlice.set(slice, [...(bySlice.get(slice) ?? []), ch]);
  }
  const dir = join(fontsourceDir(), 'files');
  const faces: string[] = [];
  let bytes = 0;
  for (const [slice, chars] of bySlice) {
    const woff2 = await subsetFont(readFileSync(join(dir, slice.file)), chars.join(''), { targetFormat: 'woff2' });
    bytes += woff2.length;
    faces.push(
      `@font-face { font-family: "${EMBEDDED_FAMILY}"; font-style: normal; font-weight: 400; font-display: ${display}; ` +
        `src: url(data:font/woff2;base64,${woff2.toString('base64')}) format("woff2"); unicode-range: ${chars.map((c) => hex(c.codePointAt(0)!)).join(',')}; }`,
    );
  }
  return { css: faces.join('\n'), bytes, chars: [...bySlice.values()].flat().join('') };
}
