import { readFileSync } from 'node:fs';
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import type { CatalogueMessage, InputError } from '../lib/errors.js';
import { Fabric } from './fabric.js';
import type { z } from 'zod';
import { closest } from '../lib/suggest.js';
import { accessPlatformSchema, inventorySchema, siteSchema, type Inventory, type InventoryInput } from './model.js';
import { nationalInventory } from './national.js';
import { formatPath, formatProblem, type Problem } from './problems.js';
import { checkInventory, type ReadableSite } from './validate.js';
import { inputError, type MessageParams } from '../lib/i18n/index.js';
import { FABRIC_MESSAGES, inventorySourceParam, problem, said, suggestion } from './messages.js';

export interface LoadResult {
  readonly fabric?: Fabric;
  readonly problems: readonly Problem[];
  readonly source: string;
}

/**
 * Parse and validate an inventory document (YAML or JSON text), collecting every problem.
 *
 * js-yaml parses (it is ~20x faster than `yaml` on the 1.5 MB national inventory); only when there
 * are problems to report is the text parsed again with `yaml`, whose nodes know their positions.
 */
export function parseInventoryText(text: string, source: string): LoadResult {
  let data: unknown;
  try {
    data = jsyaml.load(text, { filename: source });
  } catch (err) {
    if (err instanceof jsyaml.YAMLException) {
      const reason = err.reason || err.message.split('\n')[0]!;
      return { problems: [{ ...problem([], 'problem.yaml', { reason }), location: `${source}:${err.mark.line + 1}:${err.mark.column + 1}` }], source };
    }
    throw err;
  }
  let located: { doc: Document; lineCounter: LineCounter } | undefined;
  return validateInventory(data, source, (path) => {
    if (!located) {
      const { LineCounter, parseDocument } = yamlModule();
      const lineCounter = new LineCounter();
      located = { doc: parseDocument(text, { lineCounter }), lineCounter };
    }
    return locate(located.doc, located.lineCounter, source, path);
  });
}

/** What a user should start from when the file is empty: the smallest valid inventory. */
export const MINIMAL_INVENTORY = `apiVersion: jinbao/v1
kind: Inventory
metadata: { name: pilot }
sites:
  - id: "000000"
    tier: ministry
    name: 人力资源和社会保障部
    slug: ministry
    dataCenter: { class: A, meetsStandard: true }
    staff: { total: 0, requiringCertificates: 0 }
    backbone: true
    serviceAgencies: { total: 0, connected: 0 }
`;

/** Validate an inventory object; `locate` maps a problem path to "file:line:col" when known. */
export function validateInventory(
  input: unknown,
  source: string,
  locate: (path: readonly (string | number)[]) => string | undefined = () => undefined,
): LoadResult {
  const withLocation = (p: Problem): Problem => {
    const location = locate(p.path);
    return location ? { ...p, location } : p;
  };
  const where = (path: readonly (string | number)[]) => {
    const location = locate(path);
    return `${formatPath(path.slice(0, 2))}${location ? ` (${location})` : ''}`;
  };
  if (input === undefined || input === null) {
    const example = MINIMAL_INVENTORY.trimEnd().split('\n').map((l) => `      ${l}`).join('\n');
    return {
      problems: [problem([], 'problem.empty', { example })],
      source,
    };
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    return {
      problems: [problem([], 'problem.notMapping', { got: valueParam(input) })],
      source,
    };
  }
  const parsed = inventorySchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const problems: Problem[] = parsed.error.issues.flatMap((issue) => describeIssue(issue));
    // Also cross-check every site that can be read at all, so one pass reports every problem.
    const sites = (input as { sites?: unknown }).sites;
    if (Array.isArray(sites)) {
      const readable = sites.map(readSite);
      const unreadableIds = new Set<string>();
      sites.forEach((raw, i) => {
        const id = (raw as { id?: unknown } | null)?.id;
        if (readable[i]?.id === undefined && (typeof id === 'string' || typeof id === 'number')) unreadableIds.add(String(id));
      });
      problems.push(...checkInventory(readable, { unreadableIds, where }));
    }
    return { problems: inReadingOrder(sortByPath(problems).map(withLocation)), source };
  }
  const { fabric, problems } = Fabric.build(parsed.data, { where });
  return problems.length > 0 ? { problems: inReadingOrder(problems.map(withLocation)), source } : { fabric, problems: [], source };
}

/** Every field of a site that is valid on its own; undefined when the site is not a mapping. */
function readSite(raw: unknown): ReadableSite | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const fields = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const malformed: string[] = [];
  for (const [key, schema] of Object.entries(siteSchema.shape)) {
    const value = fields[key];
    if (key === 'accessPlatforms' && Array.isArray(value)) {
      out[key] = value.map((a) => accessPlatformSchema.safeParse(a).data);
      continue;
    }
    const r = (schema as z.ZodType).safeParse(value);
    if (r.success) {
      if (r.data !== undefined) out[key] = r.data;
    } else if (value !== undefined) malformed.push(key);
  }
  return { ...out, malformed } as ReadableSite;
}

/** Problems located in a file are listed top to bottom, as the user reads the file. */
function inReadingOrder(problems: Problem[]): Problem[] {
  const at = (p: Problem) => /:(\d+):(\d+)$/.exec(p.location ?? '');
  if (!problems.every(at)) return problems;
  const key = (p: Problem) => at(p)!.slice(1).map(Number) as [number, number];
  return problems.map((p, i) => ({ p, i, k: key(p) })).sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i).map(({ p }) => p);
}

function sortByPath(problems: Problem[]): Problem[] {
  const cmp = (a: readonly (string | number)[], b: readonly (string | number)[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x === y) continue;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return 0; // keep the schema's order of fields within one place
    }
    return a.length - b.length;
  };
  return problems.map((p, i) => ({ p, i })).sort((a, b) => cmp(a.p.path, b.p.path) || a.i - b.i).map(({ p }) => p);
}

type Issue = z.core.$ZodIssue & { input?: unknown };

/** One issue of the schema as problems that say the rule, the value received and the fix. */
function describeIssue(issue: Issue): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const input = issue.input;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = fieldsAt(path);
      return issue.keys.map((key) => {
        const hint = closest(key, allowed);
        return problem([...path, key], 'problem.unknownField', { field: key, hint: hint !== undefined ? suggestion(hint) : said('problem.removeField') });
      });
    }
    case 'invalid_type':
      if (input === undefined) return [problem(path, 'problem.required', { want: expectedParam(issue.expected) })];
      if (issue.expected === 'string' && typeof input === 'number') {
        return [problem(path, 'problem.numberNotString', { number: input, quoted: String(input).padStart(6, '0') })];
      }
      return [problem(path, 'problem.gotWant', { got: valueParam(input), want: expectedParam(issue.expected) })];
    case 'invalid_value': {
      const quoted = issue.values.map((v) => JSON.stringify(v));
      const want = quoted.length === 1 ? quoted[0]! : said('problem.oneOf', { values: quoted.join(', ') });
      if (input === undefined) return [problem(path, 'problem.required', { want })];
      const hint = typeof input === 'string' && issue.values.length > 1 ? suggestion(closest(input, issue.values.map(String))) : '';
      return [problem(path, 'problem.gotValue', { got: valueParam(input), want, hint })];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? (issue.inclusive ? 'atLeast' : 'moreThan') : issue.inclusive ? 'atMost' : 'lessThan';
      if (issue.origin === 'string' && issue.code === 'too_small' && Number(bound) === 1) return [problem(path, 'problem.nonEmpty', { got: valueParam(input) })];
      const unit = issue.origin === 'string' ? said('problem.units.characters') : issue.origin === 'array' ? said('problem.units.entries') : '';
      return [problem(path, 'problem.bound', { got: valueParam(input), want: said(`problem.bounds.${word}`, { bound: String(bound), unit }) })];
    }
    case 'invalid_format':
      // the schema's formats name their rule by a catalogue key (model.ts FORMAT)
      return [issue.message.startsWith('problem.format.') ? problem(path, 'problem.badFormat', { got: valueParam(input), rule: said(issue.message) }) : { path, message: `${describeValue(input)} ${issue.message}` }];
    default:
      return [{ path, message: `${issue.message} (got ${describeValue(input)})` }];
  }
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping of fields',
  array: 'a list',
};


/** The name of a schema type as a catalogue message (a string, a list, ...), or the type's own name. */
function expectedParam(kind: string): MessageParams[string] {
  return EXPECTED[kind] ? said(`problem.expected.${kind}`) : kind;
}

/** `describeValue` as a catalogue message: strings and numbers as written, the rest named in the reader's language. */
function valueParam(v: unknown): MessageParams[string] {
  if (v === undefined) return said('problem.value.nothing');
  if (v === null) return said('problem.value.null');
  if (Array.isArray(v)) return said('problem.value.list', { count: v.length });
  if (typeof v === 'object') return said('problem.value.mapping');
  return describeValue(v);
}

/** A value as a message shows it: strings quoted, containers named. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** The field names the schema allows at `path` (for "did you mean" on unknown fields). */
function fieldsAt(path: readonly (string | number)[]): string[] {
  let node: z.core.$ZodType | undefined = unwrap(inventorySchema);
  for (const step of path) {
    if (!node) return [];
    const def = node._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    node = unwrap(typeof step === 'number' ? def.element : def.shape?.[step]);
  }
  const shape = (node?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(node: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let n = node;
  while (n && ['optional', 'default', 'nullable', 'prefault'].includes(n._zod.def.type)) n = (n._zod.def as unknown as { innerType: z.core.$ZodType }).innerType;
  return n;
}

/** Loaded only to locate problems: most runs have none and skip its start-up cost. */
function yamlModule(): typeof import('yaml') {
  return createRequire(import.meta.url)('yaml') as typeof import('yaml');
}

function locate(doc: Document, lc: LineCounter, source: string, path: readonly (string | number)[]): string | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (yamlModule().isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return `${source}:${pos.line}:${pos.col}`;
    }
  }
  return undefined;
}

/** The error thrown when an inventory is invalid: every problem listed, exit code 2. */
export function inventoryError(result: LoadResult): InputError {
  const n = result.problems.length;
  return inputError(FABRIC_MESSAGES, 'inventory.invalid', { source: result.source, count: n }, {
    details: result.problems.map(formatProblem),
    localizedDetails: result.problems.map(localizedProblem),
  });
}

/** A problem line as a catalogue message (its location and path, then its message), when its message is one. */
function localizedProblem(p: Problem): CatalogueMessage | undefined {
  if (!p.said) return undefined;
  const line = formatProblem(p);
  return { catalogue: FABRIC_MESSAGES, key: 'inventory.problem', params: { where: line.slice(0, line.length - p.message.length), message: p.said } };
}

/**
 * The source name of the built-in national inventory in messages and `--json` output. Code asks
 * whether an inventory is the built-in one with `builtInInventory` (or compares with this constant),
 * never with the text a person reads, which follows the language.
 */
export const BUILT_IN_INVENTORY = 'built-in national inventory';

/** `source` for a catalogue message: the file, or the built-in inventory's name in the reader's language. */
export const sourceParam = (source: string) => inventorySourceParam(source, BUILT_IN_INVENTORY);

/** Load the inventory at `file`, or the built-in national inventory. Throws an InputError listing every problem. */
export function loadFabric(file?: string): Fabric {
  const result = file === undefined ? builtInResult() : readInventoryFile(file);
  if (!result.fabric) throw inventoryError(result);
  return result.fabric;
}

export function readInventoryFile(file: string): LoadResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? inputError(FABRIC_MESSAGES, 'inventory.noSuchFile', { file }, { cause: err }) : inputError(FABRIC_MESSAGES, 'inventory.cannotRead', { file, reason: String((err as Error).message) }, { cause: err });
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad !== undefined) return { problems: [invalidUtf8Problem(bytes, bad, file)], source: file };
  return parseInventoryText(bytes.toString('utf8'), file);
}

/**
 * The offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or undefined when all of it is UTF-8.
 * Decoding such bytes as UTF-8 would turn them into U+FFFD silently: a site name would be mangled.
 */
export function firstInvalidUtf8(b: Uint8Array): number | undefined {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i += 1;
      continue;
    }
    const [n, lo, hi] = c >= 0xc2 && c <= 0xdf ? [1, 0x80, 0xbf] : c === 0xe0 ? [2, 0xa0, 0xbf] : c === 0xed ? [2, 0x80, 0x9f] : c >= 0xe1 && c <= 0xef ? [2, 0x80, 0xbf] : c === 0xf0 ? [3, 0x90, 0xbf] : c >= 0xf1 && c <= 0xf3 ? [3, 0x80, 0xbf] : c === 0xf4 ? [3, 0x80, 0x8f] : [0, 0, 0];
    if (n === 0) return i;
    const second = b[i + 1];
    if (second === undefined || second < lo || second > hi) return i;
    for (let k = 2; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < 0x80 || x > 0xbf) return i;
    }
    i += n + 1;
  }
  return undefined;
}

/** Where the bad bytes are: line and column, and the inventory field whose text holds them. */
function invalidUtf8Problem(bytes: Buffer, offset: number, source: string): Problem {
  const before = bytes.subarray(0, offset).toString('utf8');
  const line = before.split('\n').length;
  const column = [...before.slice(before.lastIndexOf('\n') + 1)].length + 1;
  const shown = [...bytes.subarray(offset, Math.min(offset + 4, bytes.length))].map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(' ');
  const path = fieldAt(bytes.toString('utf8'), before.length);
  return { ...problem(path, 'problem.notUtf8', { bytes: shown, offset, source }), location: `${source}:${line}:${column}` };
}

/** The path of the innermost YAML node whose text covers `index` (of the text decoded lossily). */
function fieldAt(text: string, index: number): (string | number)[] {
  const { parseDocument, isMap, isSeq, isScalar } = yamlModule();
  const doc = parseDocument(text);
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    const covers = (n: unknown) => {
      const r = (n as { range?: [number, number, number] } | null)?.range;
      return r !== undefined && index >= r[0] && index < r[2];
    };
    if (isMap(node)) {
      const item = node.items.find((it) => covers(it.value) || covers(it.key));
      if (!item) break;
      path.push(isScalar(item.key) ? String(item.key.value) : '?');
      node = item.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex(covers);
      if (i < 0) break;
      path.push(i);
      node = node.items[i];
    } else break;
  }
  return path;
}

let builtIn: LoadResult | undefined;
function builtInResult(): LoadResult {
  builtIn ??= validateInventory(nationalInventory(), BUILT_IN_INVENTORY);
  return builtIn;
}

export function builtInInventory(): InventoryInput {
  return nationalInventory();
}

export type { Inventory };
