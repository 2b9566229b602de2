import { readFileSync } from 'node:fs';
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type { Document, LineCounter } from 'yaml';
import { InputError } from '../lib/errors.js';
import { Fabric } from './fabric.js';
import { inventorySchema, siteSchema, type Inventory, type InventoryInput, type Site } from './model.js';
import { nationalInventory } from './national.js';
import { formatProblem, type Problem } from './problems.js';
import { checkInventory } from './validate.js';

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
      return { problems: [{ path: [], location: `${source}:${err.mark.line + 1}:${err.mark.column + 1}`, message: `YAML syntax error: ${reason}` }], source };
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

/** Validate an inventory object; `locate` maps a problem path to "file:line:col" when known. */
export function validateInventory(
  input: unknown,
  source: string,
  locate: (path: readonly (string | number)[]) => string | undefined = () => undefined,
): LoadResult {
  const parsed = inventorySchema.safeParse(input);
  if (!parsed.success) {
    const problems: Problem[] = parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const location = locate(path);
      return { path, message: describeIssue(issue), ...(location ? { location } : {}) };
    });
    // Also check the references between the sites that are themselves well-formed, so one
    // pass reports every problem.
    for (const p of semanticProblemsOfValidSites(input)) {
      const location = locate(p.path);
      problems.push(location ? { ...p, location } : p);
    }
    return { problems, source };
  }
  const { fabric, problems } = Fabric.build(parsed.data);
  const located = problems.map((p) => {
    const location = locate(p.path);
    return location ? { ...p, location } : p;
  });
  return located.length > 0 ? { problems: located, source } : { fabric, problems: [], source };
}

function semanticProblemsOfValidSites(input: unknown): Problem[] {
  const sites = (input as { sites?: unknown } | null)?.sites;
  if (!Array.isArray(sites)) return [];
  const valid: Site[] = [];
  const indexes: number[] = [];
  sites.forEach((raw, i) => {
    const r = siteSchema.safeParse(raw);
    if (r.success) {
      valid.push(r.data);
      indexes.push(i);
    }
  });
  const knownIds = new Set(sites.map((s) => (s as { id?: unknown } | null)?.id).filter((id): id is string => typeof id === 'string'));
  return checkInventory({ sites: valid }, { indexes, knownIds });
}

function describeIssue(issue: { code: string; message: string; keys?: string[]; path: PropertyKey[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; see docs/inventory.md for the fields`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'is required';
  return issue.message;
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
  return new InputError(`inventory ${result.source} is invalid: ${n} problem${n === 1 ? '' : 's'}`, {
    details: result.problems.map(formatProblem),
  });
}

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
    throw new InputError(`cannot read inventory ${file}: ${code === 'ENOENT' ? 'no such file' : String((err as Error).message)}`, { cause: err });
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
  return {
    path,
    location: `${source}:${line}:${column}`,
    message: `not valid UTF-8 (bytes ${shown} at byte offset ${offset}); save the inventory as UTF-8, e.g. iconv -f GB18030 -t UTF-8 ${source}`,
  };
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
  builtIn ??= validateInventory(nationalInventory(), 'built-in national inventory');
  return builtIn;
}

export function builtInInventory(): InventoryInput {
  return nationalInventory();
}

export type { Inventory };
