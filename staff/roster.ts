import { createHmac } from 'node:crypto';
import { validIdentityCode } from '../pki/index.js';

/**
 * HR rosters: the CSV format, its validation and the difference between two rosters of a site.
 * Pure functions of their inputs; the store and the CLI are elsewhere.
 *
 * Personal data: identity codes (GB 11643) and social-insurance numbers are never kept or printed
 * in full. The roster keeps a keyed hash of each (HMAC-SHA256, key in the state store: it tells
 * whether the value changed between imports and lets a renumbered person be recognised) and a
 * masked form (first 3 and last 4 characters) for people to read. Certificates issued from the
 * roster therefore do not carry the GM/T 0015 identity-code extension.
 */

/** The columns of a roster file, in the order `jinbao staff template` prints them. */
export const ROSTER_COLUMNS = ['staff_number', 'name', 'identity_code', 'insurance_number', 'department', 'email', 'status'] as const;
/** The extra column of a whole-nation roster. */
export const SITE_COLUMN = 'site';
export type RosterColumn = (typeof ROSTER_COLUMNS)[number] | typeof SITE_COLUMN;

/** Chinese headers an HR export may carry instead of the English ones. */
const HEADER_ALIASES: Readonly<Record<string, RosterColumn>> = {
  工号: 'staff_number',
  姓名: 'name',
  身份证号: 'identity_code',
  公民身份号码: 'identity_code',
  社保号: 'insurance_number',
  社会保障号码: 'insurance_number',
  部门: 'department',
  邮箱: 'email',
  电子邮箱: 'email',
  状态: 'status',
  站点: 'site',
};

export const ROSTER_STATUSES = ['active', 'left'] as const;
export type RosterStatus = (typeof ROSTER_STATUSES)[number];
const STATUS_ALIASES: Readonly<Record<string, RosterStatus>> = { active: 'active', left: 'left', 在职: 'active', 离职: 'left' };

/** The same pattern as the staff profiles' subject serialNumber (pki/profiles.ts). */
const STAFF_NUMBER = /^[0-9A-Za-z-]{4,32}$/;
const INSURANCE_NUMBER = /^[0-9A-Z]{1,18}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** One person as the roster keeps them. */
export interface RosterEntry {
  readonly site: string;
  readonly staffNumber: string;
  readonly name: string;
  readonly identityHash: string;
  readonly identityMasked: string;
  readonly insuranceHash: string;
  readonly insuranceMasked: string;
  readonly department: string;
  readonly email: string;
  readonly status: RosterStatus;
  /** The staff number this person had before (recognised by the identity code), when renumbered. */
  readonly previousNumber: string | null;
}

/** A problem of a roster file: its line (1 is the header) and what is wrong, with the value received. */
export interface RosterProblem {
  readonly line: number;
  readonly message: string;
}

export interface ParsedRoster {
  readonly entries: readonly RosterEntry[];
  /** The sites the file speaks for: --site, or every site its rows name. */
  readonly sites: readonly string[];
  readonly problems: readonly RosterProblem[];
}

/** `110***********123X`: enough to recognise a person on a printout, not enough to use. */
export function maskIdentifier(value: string): string {
  if (value.length <= 7) return '*'.repeat(value.length);
  return `${value.slice(0, 3)}${'*'.repeat(value.length - 7)}${value.slice(-4)}`;
}

/** Keyed hash of an identifier: equal values give equal hashes under one store's key. */
export function hashIdentifier(key: Buffer, value: string): string {
  return value === '' ? '' : createHmac('sha256', key).update(value).digest('hex');
}

/** The template: the header of a site roster, or of a whole-nation roster (with the site column). */
export function rosterTemplate(nation: boolean): string {
  return `${[...(nation ? [SITE_COLUMN] : []), ...ROSTER_COLUMNS].join(',')}\n`;
}

/**
 * The text of a roster file: UTF-8 (a BOM is dropped). Anything else is refused with the line of
 * the first byte that is not UTF-8, and says GB 18030 when the bytes decode as that (what Chinese
 * Windows and many HR systems export), with the command that converts it.
 */
export function decodeRoster(bytes: Uint8Array, file: string): { text: string } | { problem: RosterProblem } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    const line = 1 + bytes.subarray(0, bad).reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
    let gb = false;
    try {
      new TextDecoder('gb18030', { fatal: true }).decode(bytes);
      gb = true;
    } catch {
      gb = false;
    }
    const hex = [...bytes.subarray(bad, bad + 2)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    return {
      problem: {
        line,
        message: gb
          ? `encoding: got GB 18030 (bytes ${hex}), want UTF-8; convert it with: iconv -f GB18030 -t UTF-8 ${file} > roster.utf8.csv`
          : `encoding: got bytes ${hex} that are not UTF-8, want a UTF-8 CSV file (save it as "CSV UTF-8")`,
      },
    };
  }
}

function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n === 0) return i;
    for (let k = 1; k < n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n;
  }
  return b.length;
}

/** RFC 4180 records with the line each starts on (quoted fields may hold commas, quotes and newlines). */
export function csvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let line = 1;
  let start = 1;
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: start, fields });
    fields = [];
    field = '';
  };
  while (i < text.length) {
    if (!quoted && field === '' && fields.length === 0) {
      // At a record's start: a line without quotes (nearly every line of an HR export) is split in one step.
      let end = i;
      while (end < text.length && text.charCodeAt(end) !== 0x0a && text.charCodeAt(end) !== 0x0d) end += 1;
      const lineText = text.slice(i, end);
      if (!lineText.includes('"')) {
        fields = lineText.split(',');
        field = fields.pop()!;
        i = end;
        if (i >= text.length) break;
      }
    }
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else {
        if (c === '\n') line += 1;
        field += c;
      }
      i += 1;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      line += 1;
      start = line;
    } else field += c;
    i += 1;
  }
  if (field !== '' || fields.length) endRecord();
  return out;
}

export interface ParseOptions {
  /** The site a site roster is for; absent: a whole-nation roster, each row naming its site. */
  readonly site?: string;
  /** Whether a site exists in the inventory. */
  readonly siteExists: (id: string) => boolean;
  /** The store's key for identifier hashes. */
  readonly hashKey: Buffer;
}

/** Validate a roster's text and turn its rows into entries; every problem is collected, none stops the others. */
export function parseRoster(text: string, opts: ParseOptions): ParsedRoster {
  const problems: RosterProblem[] = [];
  const records = csvRecords(text);
  if (records.length === 0) return { entries: [], sites: [], problems: [{ line: 1, message: `header: got an empty file, want the header ${rosterTemplate(opts.site === undefined).trim()} (jinbao staff template)` }] };
  const header = records[0]!.fields.map((h) => h.trim());
  const index = new Map<RosterColumn, number>();
  header.forEach((h, i) => {
    const col = (HEADER_ALIASES[h] ?? h.toLowerCase()) as RosterColumn;
    if ((ROSTER_COLUMNS as readonly string[]).includes(col) || col === SITE_COLUMN) {
      if (index.has(col)) problems.push({ line: records[0]!.line, message: `header: got column "${col}" twice, want it once` });
      index.set(col, i);
    } else problems.push({ line: records[0]!.line, message: `header: got unknown column "${h}", want only ${[SITE_COLUMN, ...ROSTER_COLUMNS].join(', ')}` });
  });
  const wanted: RosterColumn[] = [...ROSTER_COLUMNS, ...(opts.site === undefined ? [SITE_COLUMN as RosterColumn] : [])];
  for (const col of wanted) {
    if (!index.has(col)) {
      problems.push({
        line: records[0]!.line,
        message: col === SITE_COLUMN ? 'header: got no "site" column, want one in a whole-nation roster (or give --site ID for one site\'s roster)' : `header: missing column "${col}", want ${rosterTemplate(opts.site === undefined).trim()}`,
      });
    }
  }
  if (problems.length) return { entries: [], sites: [], problems };
  if (opts.site !== undefined && !opts.siteExists(opts.site)) return { entries: [], sites: [], problems: [{ line: 0, message: `--site: got "${opts.site}", want a site of the inventory (list them with: jinbao inventory show)` }] };

  const entries: RosterEntry[] = [];
  const seen = new Map<string, number>();
  const sites = new Set<string>(opts.site !== undefined ? [opts.site] : []);
  const get = (fields: string[], col: RosterColumn) => (fields[index.get(col)!] ?? '').trim();
  for (const { line, fields } of records.slice(1)) {
    const bad = (message: string) => problems.push({ line, message });
    if (fields.length !== header.length) {
      bad(`row: got ${fields.length} fields, want ${header.length} (as many as the header)`);
      continue;
    }
    const staffNumber = get(fields, 'staff_number');
    const site = index.has(SITE_COLUMN) ? get(fields, SITE_COLUMN) : opts.site!;
    const before = problems.length;
    if (opts.site !== undefined && site !== opts.site) bad(`site: got "${site}", want "${opts.site}" (the file is the roster of --site ${opts.site}; a row of another site belongs in that site's roster)`);
    else if (opts.site === undefined && !opts.siteExists(site)) bad(`site: got "${site}", want a site of the inventory`);
    if (!STAFF_NUMBER.test(staffNumber)) bad(`staff_number: got "${staffNumber}", want 4-32 letters, digits or "-"`);
    const key = `${site}\u0000${staffNumber}`;
    const dup = seen.get(key);
    if (dup !== undefined) bad(`staff_number: got "${staffNumber}" again (first on line ${dup}), want each staff number once per site`);
    else seen.set(key, line);
    const name = get(fields, 'name');
    if (name.length === 0 || [...name].length > 64) bad(`name: got ${[...name].length} characters, want 1-64`);
    const identity = get(fields, 'identity_code').toUpperCase();
    if (!validIdentityCode(identity)) bad(`identity_code: got "${maskIdentifier(identity)}" (masked), want 18 characters: 17 digits and the GB 11643 check character`);
    const insurance = get(fields, 'insurance_number').toUpperCase();
    if (insurance !== '' && !INSURANCE_NUMBER.test(insurance)) bad(`insurance_number: got "${maskIdentifier(insurance)}" (masked), want 1-18 digits or capital letters, or nothing`);
    const email = get(fields, 'email');
    if (email !== '' && !EMAIL.test(email)) bad(`email: got "${email}", want an address like name@example.gov.cn, or nothing`);
    const statusText = get(fields, 'status');
    const status = STATUS_ALIASES[statusText.toLowerCase()] ?? STATUS_ALIASES[statusText];
    if (!status) bad(`status: got "${statusText}", want active or left (在职 or 离职)`);
    if (problems.length > before) continue;
    sites.add(site);
    entries.push({
      site,
      staffNumber,
      name,
      identityHash: hashIdentifier(opts.hashKey, identity),
      identityMasked: maskIdentifier(identity),
      insuranceHash: hashIdentifier(opts.hashKey, insurance),
      insuranceMasked: insurance === '' ? '' : maskIdentifier(insurance),
      department: get(fields, 'department'),
      email,
      status: status!,
      previousNumber: null,
    });
  }
  return { entries, sites: [...sites].sort(), problems };
}

/** What changed for one person between two imports (identifiers named, never shown). */
export interface RosterChange {
  readonly staffNumber: string;
  readonly name: string;
  readonly fields: readonly string[];
  /** Renumbered: the number they had before. */
  readonly previousNumber?: string;
}

export interface RosterDiff {
  readonly site: string;
  readonly joiners: readonly { staffNumber: string; name: string }[];
  readonly leavers: readonly { staffNumber: string; name: string }[];
  readonly changed: readonly RosterChange[];
  readonly unchanged: number;
  readonly total: number;
  /** The site had no roster before this import. */
  readonly first: boolean;
}

const COMPARED: readonly [keyof RosterEntry, string][] = [
  ['name', 'name'],
  ['identityHash', 'identity_code'],
  ['insuranceHash', 'insurance_number'],
  ['department', 'department'],
  ['email', 'email'],
];

/**
 * The difference of a site's new roster from its previous one. A leaver is an active person who is
 * absent now or whose status became `left`; a joiner an active person who was absent or `left`
 * before. A person whose staff number changed (the same identity code under a new number, the old
 * one gone) is a change, not a leaver and a joiner; the new entry records the previous number.
 */
export function diffRoster(site: string, previous: ReadonlyMap<string, RosterEntry>, next: readonly RosterEntry[]): { diff: RosterDiff; entries: RosterEntry[] } {
  const joiners: { staffNumber: string; name: string }[] = [];
  const leavers: { staffNumber: string; name: string }[] = [];
  const changed: RosterChange[] = [];
  let unchanged = 0;
  const nextNumbers = new Set(next.map((e) => e.staffNumber));
  // Previous active people whose number is gone, by identity hash: candidates for a renumbering.
  const gone = new Map<string, RosterEntry>();
  for (const p of previous.values()) if (!nextNumbers.has(p.staffNumber) && p.status === 'active' && p.identityHash !== '') gone.set(p.identityHash, p);
  const entries: RosterEntry[] = [];
  const renumbered = new Set<string>();
  for (const e of next) {
    const p = previous.get(e.staffNumber);
    if (!p) {
      const old = e.status === 'active' ? gone.get(e.identityHash) : undefined;
      if (old && !renumbered.has(old.staffNumber)) {
        renumbered.add(old.staffNumber);
        const fields = ['staff_number', ...COMPARED.filter(([k]) => k !== 'identityHash' && old[k] !== e[k]).map(([, n]) => n)];
        changed.push({ staffNumber: e.staffNumber, name: e.name, fields, previousNumber: old.staffNumber });
        entries.push({ ...e, previousNumber: old.staffNumber });
        continue;
      }
      if (e.status === 'active') joiners.push({ staffNumber: e.staffNumber, name: e.name });
      entries.push(e);
      continue;
    }
    const kept = { ...e, previousNumber: p.previousNumber };
    entries.push(kept);
    if (p.status === 'active' && e.status === 'left') leavers.push({ staffNumber: e.staffNumber, name: e.name });
    else if (p.status === 'left' && e.status === 'active') joiners.push({ staffNumber: e.staffNumber, name: e.name });
    const fields = COMPARED.filter(([k]) => p[k] !== e[k]).map(([, n]) => n);
    if (fields.length) changed.push({ staffNumber: e.staffNumber, name: e.name, fields });
    else if (p.status === e.status) unchanged += 1;
  }
  for (const p of previous.values()) {
    if (!nextNumbers.has(p.staffNumber) && p.status === 'active' && !renumbered.has(p.staffNumber)) leavers.push({ staffNumber: p.staffNumber, name: p.name });
  }
  return { diff: { site, joiners, leavers, changed, unchanged, total: next.length, first: previous.size === 0 }, entries };
}
