import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../package-info.js';
import { formatDate, formatDateTime, langFromEnv, LANGUAGES, parseLang, readGlossary, resolveLang, translator } from '../index.js';

const root = projectRoot();

/** Every `<folder>/locales/` of the project: the catalogues. */
function catalogueDirs(dir = root, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (name === 'locales') found.push(path);
    else catalogueDirs(path, found);
  }
  return found;
}

type Tree = { [k: string]: string | Tree };
function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}
const read = (dir: string, lang: string) => flatten(JSON.parse(readFileSync(join(dir, `${lang}.json`), 'utf8')) as Tree);
/** Plural forms differ by language (English one/other, Chinese other only): compare the base key. */
const base = (key: string) => key.replace(/_(zero|one|two|few|many|other)$/, '');
const placeholders = (s: string) => [...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();
const termRefs = (s: string) => [...s.matchAll(/\$t\(term:(\w+)\)/g)].map((m) => m[1]!);

/**
 * The sources a catalogue serves: the .ts files of its folder and of the subfolders without a
 * catalogue of their own (tests left out).
 */
function codeOf(dir: string, top = true): string[] {
  const names = readdirSync(dir);
  if (!top && names.includes('locales')) return [];
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'test' || name === 'locales' || name === 'node_modules' ? [] : codeOf(path, false);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** A key asked for: `t('key'`, a finding's `said('key'`, or an error built from a catalogue entry (`inputError(LIB, 'key'`). */
const ASKS = /(?:\bt|\bsaid|\binputError|\bunavailableError|\bjinbaoError|\bcatalogueMessage)\(\s*(?:[A-Z_]+,\s*)?'([\w.-]+)'/g;

/** Every .ts file of the product (no tests, benchmarks, scripts or dependencies). */
function allCode(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return ['node_modules', 'dist', 'test', 'locales', 'bench', 'scripts', 'testkit'].includes(name) || name.startsWith('.') ? [] : allCode(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** A catalogue reference: `const NAME: CatalogueRef = { ns: '…', dir: '…' }`. */
const REF = /const ([A-Z_]+): CatalogueRef = \{ ns: '[\w-]+', dir: '([\w/-]+)' \}/g;
/** An entry named with its reference: `inputError(REF, 'key'` or `inputError(REF, cond ? 'a' : 'b'` (a condition without quotes or calls). */
const NAMED = /\b(?:inputError|unavailableError|jinbaoError|catalogueMessage)\(\s*([A-Z_]+),\s*(?:[^'()]*?\?\s*)?'([\w.-]+)'(?:\s*:\s*'([\w.-]+)')?/g;

/**
 * Helpers that prefix the key they are given (`DrillRefusedError.of('lag')` says `refuse.lag`): the
 * literal in the code is only the end of the entry's key, so the checks above cannot see it. Each
 * names the call, the file it is called in when the name is a local helper, the catalogue and the
 * prefix; `definedIn` is where the helper builds the key (a template literal: `refuse.${key}`).
 */
interface PrefixingHelper {
  readonly call: string;
  readonly file?: string;
  readonly definedIn: string;
  readonly dir: string;
  readonly prefix: string;
}
const PREFIXING: readonly PrefixingHelper[] = [
  { call: 'DrillRefusedError.of', definedIn: 'dr-runbooks/runbook.ts', dir: 'dr-runbooks/locales', prefix: 'refuse.' },
  { call: 'DrillAbortedError.of', definedIn: 'dr-runbooks/engine.ts', dir: 'dr-runbooks/locales', prefix: 'step.' },
  { call: 'new OperatorCommandError', definedIn: 'dr-runbooks/pg/operator.ts', dir: 'dr-runbooks/locales', prefix: 'step.operatorCommand.' },
  { call: 'fail', file: 'lib/pg-conn.ts', definedIn: 'lib/pg-conn.ts', dir: 'lib/locales', prefix: 'pgConn.' },
  { call: 'm', file: 'lib/pg-client.ts', definedIn: 'lib/pg-client.ts', dir: 'lib/locales', prefix: 'pg.' },
  { call: 'network', file: 'network/topology.ts', definedIn: 'network/topology.ts', dir: 'network/locales', prefix: 'topology.what.' },
  { call: 'problem', file: 'dr-runbooks/tls.ts', definedIn: 'dr-runbooks/tls.ts', dir: 'dr-runbooks/locales', prefix: 'cert.' },
  { call: 'problem', file: 'dr-runbooks/pg/remote-pair.ts', definedIn: 'dr-runbooks/tls.ts', dir: 'dr-runbooks/locales', prefix: 'cert.' },
];
/** Calls that take a whole key of a catalogue other than the one next to every caller. */
const WHOLE_KEY: readonly { readonly call: string; readonly dir: string }[] = [{ call: 'new StepFailure', dir: 'dr-runbooks/locales' }];
/** Keys built from a closed set of values where they are used, not by a helper: each value is listed. */
const ENUMERATED: readonly { readonly file: string; readonly dir: string; readonly prefix: string; readonly values: readonly string[] }[] = [
  { file: 'network/lab/faults.ts', dir: 'network/locales', prefix: 'lab.uplink.', values: ['primary', 'secondary'] },
];
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The keys a call is given: `call('key'`, or both arms of `call(cond ? 'a' : 'b'` (a condition without quotes or calls). */
const keysGiven = (call: string, source: string) =>
  [...source.matchAll(new RegExp(`(?<![\\w.])${escapeRe(call)}\\(\\s*(?:[^'()]*?\\?\\s*)?'([\\w.-]+)'(?:\\s*:\\s*'([\\w.-]+)')?`, 'g'))].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]);
/** Where a catalogue key is built with a template literal (`catalogueMessage(REF, \`refuse.${key}\``, `super(\`step.${key}\``): its prefix. */
const TEMPLATE_KEY = /(?:\bcatalogueMessage\(\s*[A-Z_]+,\s*|\bsuper\(\s*)`((?:[\w-]+\.)+)\$\{/g;
/** A key, or its plural forms, in a flattened catalogue. */
const hasKey = (known: Map<string, string>, key: string) => known.has(key) || known.has(`${key}_one`) || known.has(`${key}_other`);

/** What is missing in each language for the keys the prefixing helpers and whole-key calls are given in `sources`. */
function missingPrefixedKeys(sources: readonly { readonly file: string; readonly text: string }[], catalogue: (dir: string, lang: string) => Map<string, string>): { missing: string[]; checked: number } {
  const missing: string[] = [];
  let checked = 0;
  const expect = (file: string, call: string, dir: string, key: string) => {
    checked++;
    for (const lang of LANGUAGES) if (!hasKey(catalogue(dir, lang), key)) missing.push(`${file}: ${call}(…) asks for "${key}", missing in ${dir}/${lang}.json`);
  };
  for (const { file, text } of sources) {
    for (const h of PREFIXING) if (h.file === undefined || h.file === file) for (const k of keysGiven(h.call, text)) expect(file, h.call, h.dir, h.prefix + k);
    for (const w of WHOLE_KEY) for (const k of keysGiven(w.call, text)) expect(file, w.call, w.dir, k);
  }
  for (const e of ENUMERATED) for (const v of e.values) expect(e.file, `${e.prefix}\${…}`, e.dir, e.prefix + v);
  return { missing, checked };
}

const dirs = catalogueDirs();
const glossary = readGlossary();

describe('message catalogues', () => {
  it('are found: the common one, the posture report catalogue and the inventory table catalogue', () => {
    const rel = dirs.map((d) => relative(root, d));
    expect(rel).toContain('lib/i18n/locales');
    expect(rel).toContain('compliance/report/locales');
    expect(rel).toContain('bin/commands/locales');
  });

  for (const dir of dirs) {
    const name = relative(root, dir);
    it(`${name}: every key exists in every language, with the same placeholders and known glossary terms`, () => {
      const byLang = Object.fromEntries(LANGUAGES.map((l) => [l, read(dir, l)]));
      const keys = (l: string) => new Set([...byLang[l]!.keys()].map(base));
      const problems: string[] = [];
      for (const l of LANGUAGES) {
        for (const other of LANGUAGES) {
          for (const k of keys(l)) if (!keys(other).has(k)) problems.push(`${name}/${other}.json lacks "${k}" (present in ${l}.json)`);
        }
      }
      for (const [k, en] of byLang.en!) {
        const zh = byLang['zh-CN']!.get(k) ?? byLang['zh-CN']!.get(`${base(k)}_other`) ?? byLang['zh-CN']!.get(base(k));
        if (zh !== undefined && placeholders(en).join() !== placeholders(zh).join()) problems.push(`${name} "${k}": placeholders differ: en ${placeholders(en).join(',')} zh-CN ${placeholders(zh).join(',')}`);
      }
      for (const l of LANGUAGES) for (const [k, v] of byLang[l]!) for (const term of termRefs(v)) if (!glossary[term]) problems.push(`${name}/${l}.json "${k}" names an unknown glossary term "${term}"`);
      for (const [k, v] of byLang['zh-CN']!) if (v.trim() === '') problems.push(`${name}/zh-CN.json "${k}" is empty`);
      expect(problems).toEqual([]);
    });

    it(`${name}: every key the code next to it asks for exists`, () => {
      const en = new Set([...read(dir, 'en').keys()].map(base));
      const sources = codeOf(dirname(dir)).map((f) => readFileSync(f, 'utf8'));
      const asked = sources.flatMap((s) => [...s.matchAll(ASKS)].map((m) => m[1]!));
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.filter((k) => !en.has(k))).toEqual([]);
    });
  }

  it('every entry an error or message names exists in the catalogue its reference points to (not only the one next to the code)', () => {
    const sources = allCode(root);
    const refs = new Map<string, string>([
      ['COMMON', 'lib/i18n/locales'],
      ['LIB', 'lib/locales'],
    ]);
    for (const f of sources) for (const m of readFileSync(f, 'utf8').matchAll(REF)) refs.set(m[1]!, m[2]!);
    const missing: string[] = [];
    let checked = 0;
    for (const f of sources) {
      for (const m of readFileSync(f, 'utf8').matchAll(NAMED)) {
        const dir = refs.get(m[1]!);
        if (dir === undefined) continue;
        const known = read(join(root, dir), 'en');
        for (const key of [m[2], m[3]].filter((k): k is string => k !== undefined)) {
          checked++;
          if (!known.has(key) && !known.has(`${key}_one`) && !known.has(`${key}_other`)) missing.push(`${relative(root, f)}: ${m[1]} (${dir}) has no "${key}"`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('every key given to a helper that prefixes it (DrillRefusedError.of, StepFailure, …) exists in every language', () => {
    const sources = allCode(root).map((f) => ({ file: relative(root, f), text: readFileSync(f, 'utf8') }));
    const { missing, checked } = missingPrefixedKeys(sources, (dir, lang) => read(join(root, dir), lang));
    expect(checked).toBeGreaterThan(60);
    expect(missing).toEqual([]);
  });

  it('every key built with a template literal is a listed prefixing helper or a listed set of values (a new helper cannot go unchecked)', () => {
    const found = allCode(root).flatMap((f) => [...readFileSync(f, 'utf8').matchAll(TEMPLATE_KEY)].map((m) => `${relative(root, f)}: ${m[1]}`));
    // a helper called from several files is listed once per file, defined once
    const listed = [...new Set([...PREFIXING.map((h) => `${h.definedIn}: ${h.prefix}`), ...ENUMERATED.map((e) => `${e.file}: ${e.prefix}`)])];
    expect(found.sort()).toEqual(listed.sort());
  });

  it('a prefixed key missing in one language, or in both, is caught (the check above can fail)', () => {
    const text = [
      "throw DrillRefusedError.of('lag', { seconds: 1 });",
      "throw new StepFailure(done ? 'step.timedOut' : 'step.nowhere', {});",
      "throw new OperatorCommandError('failed', {});",
      "const m = (key) => catalogueMessage(LIB, `pg.${key}`); m('at');",
    ].join('\n');
    const catalogues: Record<string, Map<string, string>> = {
      'dr-runbooks/locales/en': new Map([['refuse.lag', 'x'], ['step.timedOut', 'x'], ['step.operatorCommand.failed', 'x']]),
      'dr-runbooks/locales/zh-CN': new Map([['step.timedOut', '甲'], ['step.operatorCommand.failed', '甲']]),
    };
    const { missing, checked } = missingPrefixedKeys([{ file: 'dr-runbooks/x.ts', text }], (dir, lang) => catalogues[`${dir}/${lang}`] ?? new Map());
    expect(checked).toBe(4 + ENUMERATED.reduce((n, e) => n + e.values.length, 0));
    expect(missing.filter((m) => m.startsWith('dr-runbooks/x.ts'))).toEqual([
      'dr-runbooks/x.ts: DrillRefusedError.of(…) asks for "refuse.lag", missing in dr-runbooks/locales/zh-CN.json',
      'dr-runbooks/x.ts: new StepFailure(…) asks for "step.nowhere", missing in dr-runbooks/locales/en.json',
      'dr-runbooks/x.ts: new StepFailure(…) asks for "step.nowhere", missing in dr-runbooks/locales/zh-CN.json',
    ]);
  });

  it('a key missing in one language is caught (the check above can fail)', () => {
    const en = flatten({ a: 'x', b: { c: 'y' } });
    const zh = flatten({ a: '甲' });
    expect([...en.keys()].filter((k) => !zh.has(k))).toEqual(['b.c']);
  });
});

describe('the glossary', () => {
  it('gives every term an English and a Chinese form and a source', () => {
    const bad = Object.entries(glossary).filter(([, e]) => !e.en || !e.zh || !e.source).map(([k]) => k);
    expect(bad).toEqual([]);
    expect(glossary.drCenter!.zh).toBe('灾备中心');
    expect(glossary.mlpsLevel3!.zh).toBe('等级保护三级');
  });

  it('is what messages that name a term say, in each language', () => {
    expect(translator('zh-CN')('tier.prefecture')).toBe(glossary.prefecture!.zh);
    expect(translator('en')('tier.prefecture')).toBe(glossary.prefecture!.en);
  });
});

describe('choosing the language', () => {
  it('follows the POSIX precedence: LC_ALL, then LC_MESSAGES, then LANG; the first one set decides', () => {
    expect(langFromEnv({ LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(langFromEnv({ LANG: 'zh_CN.GB18030' })).toBe('zh-CN');
    expect(langFromEnv({ LANG: 'zh_CN' })).toBe('zh-CN');
    expect(langFromEnv({ LC_MESSAGES: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' })).toBe('zh-CN');
    expect(langFromEnv({ LC_ALL: 'en_US.UTF-8', LC_MESSAGES: 'zh_CN.UTF-8' })).toBe('en');
    expect(langFromEnv({ LC_ALL: 'zh_CN.UTF-8', LANG: 'C' })).toBe('zh-CN');
    expect(langFromEnv({ LC_ALL: '', LANG: 'zh_CN.UTF-8' })).toBe('zh-CN');
    expect(langFromEnv({})).toBe('en');
    expect(langFromEnv({ LANG: 'C.UTF-8' })).toBe('en');
  });

  it('falls back to English, silently, for a locale jinbao does not speak', () => {
    expect(langFromEnv({ LANG: 'fr_FR.UTF-8' })).toBe('en');
    expect(langFromEnv({ LANG: 'zh_TW.UTF-8' })).toBe('en');
    expect(langFromEnv({ LC_ALL: 'fr_FR.UTF-8', LANG: 'zh_CN.UTF-8' })).toBe('en');
  });

  it('takes --lang over the locale', () => {
    expect(resolveLang('en', { LANG: 'zh_CN.UTF-8' })).toBe('en');
    expect(resolveLang('zh-CN', { LANG: 'en_US.UTF-8' })).toBe('zh-CN');
    expect(parseLang('zh_CN')).toBe('zh-CN');
    expect(parseLang('ZH-cn')).toBe('zh-CN');
  });

  it('refuses an unknown --lang, listing the supported values, in the locale\'s language', () => {
    expect(() => parseLang('fr')).toThrow('--lang must be one of en, zh-CN, got "fr"; leave it out to follow the locale (LC_ALL, LC_MESSAGES, LANG)');
    expect(() => resolveLang('de', { LANG: 'zh_CN.UTF-8' })).toThrow('--lang 只能是 en, zh-CN 之一，收到的是“de”；不指定时按区域设置（LC_ALL、LC_MESSAGES、LANG）选择语言');
  });
});

describe('dates in each language', () => {
  it('writes 年月日 in Beijing time for Chinese and ISO in UTC for English', () => {
    const at = new Date('2026-12-31T17:05:00Z');
    expect(formatDate(at, 'zh-CN')).toBe('2027年1月1日');
    expect(formatDateTime(at, 'zh-CN')).toBe('2027年1月1日 01:05（北京时间）');
    expect(formatDate(at, 'en')).toBe('2026-12-31');
    expect(formatDateTime(at, 'en')).toBe('2026-12-31 17:05 UTC');
  });
});
