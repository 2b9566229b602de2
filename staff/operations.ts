import { readFileSync } from 'node:fs';
import type { Fabric } from '../fabric/index.js';
import type { Progress, StateAccess } from '../lib/context.js';
import { InputError } from '../lib/errors.js';
import { decodeRoster, diffRoster, parseRoster, type RosterDiff, type RosterEntry, type RosterProblem } from './roster.js';
import { StaffStore } from './store.js';

/**
 * The staff feature's operations: roster import, sync with the certificate store, enrollment.
 * Each takes the state, the inventory and its inputs, and returns data; none prints.
 */

export async function openStaff(state: StateAccess): Promise<StaffStore> {
  return StaffStore.open(await state.database());
}

/** Problems are listed in full up to this many; the rest are counted. */
const MAX_LISTED = 200;

export function rosterRefusal(file: string, problems: readonly RosterProblem[]): InputError {
  const lines = problems.map((p) => (p.line > 0 ? `${file}:${p.line}: ${p.message}` : p.message));
  const listed = lines.slice(0, MAX_LISTED);
  if (lines.length > MAX_LISTED) listed.push(`… and ${lines.length - MAX_LISTED} more problems`);
  return new InputError(`roster ${file} refused: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was imported (fix them and import again)`, { details: listed });
}

export interface ImportRequest {
  readonly file: string;
  /** One site's roster; absent: a whole-nation roster with a site column. */
  readonly site?: string;
  readonly dryRun?: boolean;
  readonly actor?: string;
  readonly now?: Date;
  readonly progress?: Progress;
  /** Told after each batch of rows written (inside the import's transaction). */
  readonly written?: (rows: number) => void;
}

export interface ImportResult {
  readonly file: string;
  readonly scope: 'site' | 'nation';
  readonly sites: readonly RosterDiff[];
  readonly rows: number;
  readonly applied: boolean;
}

/**
 * Import a roster: decode (UTF-8 only), validate every row, compare each site with its previous
 * roster and, unless a dry run, replace those rosters in one transaction. Any problem refuses the
 * whole file (InputError listing each with its line), and nothing is written.
 */
export async function importRoster(state: StateAccess, fabric: Fabric, r: ImportRequest): Promise<ImportResult> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(r.file);
  } catch (err) {
    throw new InputError(`roster ${r.file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); want a readable CSV file`, { cause: err });
  }
  const decoded = decodeRoster(bytes, r.file);
  if ('problem' in decoded) throw rosterRefusal(r.file, [decoded.problem]);
  const staff = await openStaff(state);
  const parsed = parseRoster(decoded.text, { ...(r.site !== undefined ? { site: r.site } : {}), siteExists: (id) => fabric.has(id), hashKey: await staff.hashKey() });
  if (parsed.problems.length) throw rosterRefusal(r.file, parsed.problems);
  r.progress?.(`${parsed.entries.length} rows valid for ${parsed.sites.length} site(s)`);
  const bySite = new Map<string, RosterEntry[]>(parsed.sites.map((s) => [s, []]));
  for (const e of parsed.entries) bySite.get(e.site)!.push(e);
  const diffs: RosterDiff[] = [];
  const entries: RosterEntry[] = [];
  for (const [site, rows] of bySite) {
    const { diff, entries: kept } = diffRoster(site, await staff.roster(site), rows);
    diffs.push(diff);
    for (const e of kept) entries.push(e);
  }
  if (!r.dryRun) {
    await staff.replaceRosters(diffs, entries, { source: r.file, ...(r.actor ? { actor: r.actor } : {}), ...(r.now ? { now: r.now } : {}), ...(r.written ? { written: r.written } : {}) });
  }
  return { file: r.file, scope: r.site !== undefined ? 'site' : 'nation', sites: diffs, rows: parsed.entries.length, applied: !r.dryRun };
}
