/**
 * Message catalogues in English and Simplified Chinese, on i18next.
 *
 * Why i18next: the most widely used catalogue library for JavaScript (tens of millions of weekly
 * downloads, maintained since 2011), plain JSON catalogues a translator can edit, namespaces (one
 * per feature, plus `term` for the glossary), nesting (`$t(term:drCenter)`, so a term is written
 * once), interpolation and plural rules for both languages, and no runtime dependency of its own.
 * Version 26: 27 requires Node 22, jinbao supports Node 20.
 *
 * Catalogues live next to the code that speaks them, as `<folder>/locales/<lang>.json`; the
 * glossary is `lib/i18n/glossary.yaml`. Both are read from the project root so the same files
 * serve the sources and `dist/`.
 */
import type { i18n, TFunction } from 'i18next';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import jsyaml from 'js-yaml';
import { InputError, JinbaoError, UnavailableError, type CatalogueMessage } from '../errors.js';
import { projectRoot } from '../package-info.js';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Lang = (typeof LANGUAGES)[number];
export type Translate = TFunction;

/** A feature's catalogue: its i18next namespace and its folder of `<lang>.json` files, relative to the project root. */
export interface CatalogueRef {
  readonly ns: string;
  readonly dir: string;
}

/** jinbao's own catalogue (the language option, tier names, shared words). */
export const COMMON: CatalogueRef = { ns: 'common', dir: 'lib/i18n/locales' };
/** The messages of lib/'s shared helpers (option values, the state store). */
export const LIB: CatalogueRef = { ns: 'lib', dir: 'lib/locales' };
export const GLOSSARY_FILE = 'lib/i18n/glossary.yaml';

export interface GlossaryEntry {
  readonly en: string;
  readonly zh: string;
  readonly source: string;
  readonly avoid?: readonly string[];
  readonly note?: string;
}

/** The glossary, keyed by term id. */
export function readGlossary(root = projectRoot()): Readonly<Record<string, GlossaryEntry>> {
  return jsyaml.load(readFileSync(join(root, GLOSSARY_FILE), 'utf8')) as Record<string, GlossaryEntry>;
}

/**
 * `--lang`: exactly `en` or `zh-CN` (case and `_` for `-` forgiven); anything else is an input error
 * listing the supported values.
 */
export function parseLang(value: string, speak: Lang = 'en'): Lang {
  const wanted = value.trim().replace('_', '-').toLowerCase();
  const found = LANGUAGES.find((l) => l.toLowerCase() === wanted);
  if (found) return found;
  const t = translator(speak);
  throw new InputError(t('lang.unknown', { supported: LANGUAGES.join(', '), value }));
}

/**
 * The language the POSIX locale asks for: the first of LC_ALL, LC_MESSAGES, LANG that is set and not
 * empty decides; `zh_CN.*` (any codeset or modifier) means Chinese; everything else, including
 * locales jinbao does not speak (`fr_FR.UTF-8`) and `C`/`POSIX`, means English.
 */
export function langFromEnv(env: NodeJS.ProcessEnv): Lang {
  const locale = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '');
  return locale !== undefined && /^zh[_-]CN([.@]|$)/i.test(locale) ? 'zh-CN' : 'en';
}

/** `--lang` when given, else the locale; a bad `--lang` is reported in the locale's language. */
export function resolveLang(flag: string | undefined, env: NodeJS.ProcessEnv): Lang {
  return flag === undefined ? langFromEnv(env) : parseLang(flag, langFromEnv(env));
}

/**
 * The language of a command line before it is parsed (help and parse errors come before any
 * command runs): a valid `--lang X` / `--lang=X`, else the locale. A bad `--lang` is left for the
 * command to refuse.
 */
export function langFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Lang {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const value = arg === '--lang' ? argv[i + 1] : arg.startsWith('--lang=') ? arg.slice('--lang='.length) : undefined;
    if (value === undefined) continue;
    const wanted = value.trim().replace('_', '-').toLowerCase();
    return LANGUAGES.find((l) => l.toLowerCase() === wanted) ?? langFromEnv(env);
  }
  return langFromEnv(env);
}

/** A catalogue file as i18next resources; a missing file is an internal error naming it. */
export function readCatalogue(ref: CatalogueRef, lang: Lang, root = projectRoot()): Record<string, unknown> {
  return JSON.parse(readFileSync(join(root, ref.dir, `${lang}.json`), 'utf8')) as Record<string, unknown>;
}

let shared: i18n | undefined;
const loaded = new Set<string>();

function instance(): i18n {
  if (shared) return shared;
  const glossary = readGlossary();
  const terms = (lang: Lang) => Object.fromEntries(Object.entries(glossary).map(([k, e]) => [k, lang === 'en' ? e.en : e.zh]));
  // loaded on first use: most commands print nothing translated and skip its start-up cost
  const { createInstance } = createRequire(import.meta.url)('i18next') as typeof import('i18next');
  const i = createInstance();
  void i.init({
    initAsync: false,
    resources: Object.fromEntries(LANGUAGES.map((l) => [l, { term: terms(l), [COMMON.ns]: readCatalogue(COMMON, l) }])),
    supportedLngs: [...LANGUAGES],
    fallbackLng: false,
    ns: ['term', COMMON.ns],
    defaultNS: COMMON.ns,
    // markup is escaped by the renderers that produce HTML; terminal text needs none
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  loaded.add(COMMON.ns);
  shared = i;
  return i;
}

/** A translate function for `lang` whose default namespace is `ref`'s (loaded on first use). */
export function translator(lang: Lang, ref: CatalogueRef = COMMON): Translate {
  const i = instance();
  if (!loaded.has(ref.ns)) {
    for (const l of LANGUAGES) i.addResourceBundle(l, ref.ns, readCatalogue(ref, l), true, true);
    loaded.add(ref.ns);
  }
  return i.getFixedT(lang, ref.ns);
}

const SHANGHAI = 'Asia/Shanghai';

/** A date in the language's convention: `2026年12月4日` (Beijing time) or `2026-12-04` (UTC). */
export function formatDate(at: Date | string, lang: Lang): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (lang === 'en') return d.toISOString().slice(0, 10);
  return new Intl.DateTimeFormat('zh-CN', { year: 'numeric', month: 'long', day: 'numeric', timeZone: SHANGHAI }).format(d);
}

/** A date and time: `2026年12月4日 13:32（北京时间）` or `2026-12-04 05:32 UTC`. */
export function formatDateTime(at: Date | string, lang: Lang): string {
  const d = typeof at === 'string' ? new Date(at) : at;
  if (lang === 'en') return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const time = new Intl.DateTimeFormat('zh-CN', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: SHANGHAI }).format(d);
  return `${formatDate(d, lang)} ${time}（北京时间）`;
}

/** A count with the language's grouping (both group by thousands: 3,004). */
export function formatNumber(n: number, lang: Lang): string {
  return new Intl.NumberFormat(lang === 'en' ? 'en-US' : 'zh-CN').format(n);
}

/** The values a catalogue message takes (a value may be another catalogue message). */
export type MessageParams = Readonly<Record<string, string | number | CatalogueMessage>>;

/** A catalogue message: its English text (an error's `message`) and the message itself, to say it in another language. */
export function catalogueMessage(ref: CatalogueRef, key: string, params: MessageParams = {}): { message: string; localized: CatalogueMessage } {
  const localized: CatalogueMessage = { catalogue: { ns: ref.ns, dir: ref.dir }, key, params };
  return { message: say(localized, 'en'), localized };
}

/** A catalogue message in `lang`, its nested messages too. */
export function say(m: CatalogueMessage, lang: Lang): string {
  const values: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(m.params ?? {})) values[k] = typeof v === 'object' ? say(v, lang) : v;
  return translator(lang, m.catalogue)(m.key, values);
}

/** Bad input whose message is a catalogue entry (English in `message`, the user's language when printed). */
export function inputError(ref: CatalogueRef, key: string, params: MessageParams = {}, opts: { details?: readonly string[]; localizedDetails?: readonly (CatalogueMessage | undefined)[]; cause?: unknown } = {}): InputError {
  const m = catalogueMessage(ref, key, params);
  return new InputError(m.message, { ...opts, localized: m.localized });
}

/** A missing tool or service whose message is a catalogue entry. */
export function unavailableError(ref: CatalogueRef, key: string, params: MessageParams = {}, opts: { details?: readonly string[]; cause?: unknown } = {}): UnavailableError {
  const m = catalogueMessage(ref, key, params);
  return new UnavailableError(m.message, { ...opts, localized: m.localized });
}

/** An error with its exit code whose message is a catalogue entry. */
export function jinbaoError(ref: CatalogueRef, key: string, params: MessageParams, opts: { exitCode: number; details?: readonly string[]; localizedDetails?: readonly (CatalogueMessage | undefined)[]; cause?: unknown }): JinbaoError {
  const m = catalogueMessage(ref, key, params);
  return new JinbaoError(m.message, { ...opts, localized: m.localized });
}

/** What to print for an error in `lang`: its catalogue message when it has one, else its (English) message. */
export function errorText(err: JinbaoError, lang: Lang): string {
  if (lang === 'en' || !err.localized) return err.message;
  return say(err.localized, lang);
}

/** An error's detail lines in `lang`: each from its catalogue message when it has one, else as written. */
export function detailTexts(err: JinbaoError, lang: Lang): readonly string[] {
  if (lang === 'en' || !err.localizedDetails) return err.details;
  return err.details.map((d, i) => {
    const m = err.localizedDetails![i];
    return m ? say(m, lang) : d;
  });
}
