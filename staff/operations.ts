import { readFileSync } from 'node:fs';
import type { Fabric } from '../fabric/index.js';
import type { Progress, StateAccess } from '../lib/context.js';
import { recordAudit } from '../lib/audit.js';
import { InputError } from '../lib/errors.js';
import { parseSubject, PkiStore, PROFILES, subjectText, type CertificateRecord, type RevocationReason } from '../pki/index.js';
import { CMP_SECRET_DEFAULT_VALIDITY_DAYS, CmpStore, openCmpKeyring, prepareSecrets, secretState } from '../pki/cmp/index.js';
import { enrollOne, newIssuer, recoverStaged, STAFF_ENROLL_PROFILE } from './enroll.js';
import { checkCmpOut, cmpSecretLine, cmpSecretsFile, recoverCmpStaged, stageRecordAppend } from './enroll-cmp.js';
import { decodeRoster, diffRoster, parseRoster, type RosterDiff, type RosterEntry, type RosterProblem } from './roster.js';
import { StaffStore } from './store.js';
import { inputError } from '../lib/i18n/index.js';
import { STAFF_MESSAGES } from './messages.js';

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
  return inputError(STAFF_MESSAGES, problems.length === 1 ? 'roster.refusedOne' : 'roster.refusedMany', { file, count: problems.length }, { details: listed });
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

const ENTRY_FIELDS: readonly (keyof RosterEntry)[] = ['name', 'identityHash', 'identityMasked', 'insuranceHash', 'insuranceMasked', 'department', 'email', 'status', 'previousNumber'];
const sameEntry = (a: RosterEntry, b: RosterEntry) => ENTRY_FIELDS.every((k) => a[k] === b[k]);

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
    throw inputError(STAFF_MESSAGES, 'roster.unreadable', { file: r.file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, { cause: err });
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
  const upsert: RosterEntry[] = [];
  const remove: { site: string; staffNumber: string }[] = [];
  for (const [site, rows] of bySite) {
    const previous = await staff.roster(site);
    const { diff, entries: kept } = diffRoster(site, previous, rows);
    diffs.push(diff);
    const listed = new Set<string>();
    for (const e of kept) {
      listed.add(e.staffNumber);
      const p = previous.get(e.staffNumber);
      if (!p || !sameEntry(p, e)) upsert.push(e);
    }
    for (const n of previous.keys()) if (!listed.has(n)) remove.push({ site, staffNumber: n });
  }
  if (!r.dryRun) {
    await staff.replaceRosters(diffs, { upsert, remove }, { source: r.file, ...(r.actor ? { actor: r.actor } : {}), ...(r.now ? { now: r.now } : {}), ...(r.written ? { written: r.written } : {}) });
  }
  return { file: r.file, scope: r.site !== undefined ? 'site' : 'nation', sites: diffs, rows: parsed.entries.length, applied: !r.dryRun };
}

// ---- sync: the certificate store follows the roster

/** Profiles whose certificates belong to staff (pki/profiles.ts `staff: true`). */
export const STAFF_PROFILES: readonly string[] = Object.values(PROFILES)
  .filter((p) => p.staff)
  .map((p) => p.name);

/** Share of a site's staff certificates one sync may revoke without --confirm-mass-revocation. @default 0.2 */
export const DEFAULT_MASS_REVOCATION_SHARE = 0.2;

export interface SyncAction {
  readonly serial: string;
  readonly profile: string;
  readonly staffNumber: string;
  /** The name in the certificate. */
  readonly certificateName: string;
}

export interface SyncPlan {
  readonly site: string;
  /** Active, currently valid staff certificates of the site. */
  readonly staffCertificates: number;
  /** Certificates of people no longer on the roster (or `left`): revoked, affiliationChanged. */
  readonly revoke: readonly SyncAction[];
  /** Certificates of people whose name or number changed: a new staff-auth bundle, then the old one revoked (superseded). */
  readonly reissue: readonly (SyncAction & { readonly name: string; readonly newNumber: string })[];
  /** Certificates already replaced by one with the roster's name and number: revoked, superseded, nothing issued. */
  readonly supersede: readonly SyncAction[];
  /** Revocations over staff certificates. */
  readonly share: number;
}

async function staffCertificates(pki: PkiStore, site: string, now: Date): Promise<CertificateRecord[]> {
  return (await pki.listCertificates({ site, status: 'active', validAt: now })).filter((c) => STAFF_PROFILES.includes(c.profile) && c.staffNumber !== null);
}

async function requireRoster(staff: StaffStore, fabric: Fabric, site: string): Promise<Map<string, RosterEntry>> {
  if (!fabric.has(site)) throw inputError(STAFF_MESSAGES, 'site.unknown', { site });
  if (!(await staff.sitesWithRoster()).has(site)) throw inputError(STAFF_MESSAGES, 'site.noRoster', { site });
  return staff.roster(site);
}

/** What a sync of `site` would do, computed from its roster and its certificates; changes nothing. */
export async function planSync(staff: StaffStore, pki: PkiStore, fabric: Fabric, site: string, now = new Date()): Promise<SyncPlan> {
  const roster = await requireRoster(staff, fabric, site);
  const active = new Map([...roster.values()].filter((e) => e.status === 'active').map((e) => [e.staffNumber, e]));
  const renumbered = new Map([...active.values()].filter((e) => e.previousNumber !== null).map((e) => [e.previousNumber!, e]));
  const certs = await staffCertificates(pki, site, now);
  const current = new Set(certs.filter((c) => active.get(c.staffNumber!)?.name === c.commonName).map((c) => `${c.profile}\u0000${c.staffNumber}`));
  const revoke: SyncAction[] = [];
  const reissue: (SyncAction & { name: string; newNumber: string })[] = [];
  const supersede: SyncAction[] = [];
  for (const c of certs) {
    const action = { serial: c.serial, profile: c.profile, staffNumber: c.staffNumber!, certificateName: c.commonName };
    const person = active.get(c.staffNumber!) ?? renumbered.get(c.staffNumber!);
    if (!person) revoke.push(action);
    else if (person.name === c.commonName && person.staffNumber === c.staffNumber) continue;
    else if (current.has(`${c.profile}\u0000${person.staffNumber}`) || c.profile !== STAFF_ENROLL_PROFILE) supersede.push(action);
    else reissue.push({ ...action, name: person.name, newNumber: person.staffNumber });
  }
  const revocations = revoke.length + reissue.length + supersede.length;
  return { site, staffCertificates: certs.length, revoke, reissue, supersede, share: certs.length === 0 ? 0 : revocations / certs.length };
}

export interface SyncRequest {
  readonly site: string;
  readonly passphrase: () => Promise<string>;
  /** Where re-issued bundles go (needed when the plan re-issues). */
  readonly out?: string;
  readonly confirmMassRevocation?: boolean;
  /** @default DEFAULT_MASS_REVOCATION_SHARE */
  readonly maxShare?: number;
  readonly actor?: string;
  readonly progress?: Progress;
}

export interface SyncResult {
  readonly plan: SyncPlan;
  readonly revoked: readonly { serial: string; staffNumber: string; reason: RevocationReason }[];
  readonly issued: readonly { serial: string; staffNumber: string; replaces: string; bundle: string; handout: string }[];
}

/** Refuse a plan that revokes more than `maxShare` of the site's staff certificates, unless confirmed. */
export function checkMassRevocation(plan: SyncPlan, maxShare: number, confirmed: boolean): void {
  if (!(maxShare >= 0 && maxShare <= 1)) throw inputError(STAFF_MESSAGES, 'sync.maxShare', { value: maxShare * 100 });
  if (plan.share > maxShare && !confirmed) {
    const n = plan.revoke.length + plan.reissue.length + plan.supersede.length;
    throw new InputError(
      `sync of site ${plan.site} refused: it would revoke ${n} of ${plan.staffCertificates} staff certificates (${(plan.share * 100).toFixed(1)}%), more than ${(maxShare * 100).toFixed(0)}%; check the roster (a truncated HR export looks like this), then run again with --confirm-mass-revocation`,
    );
  }
}

/** Apply a plan: re-issue first (a person is never left without a certificate), then revoke; each person audited. */
export async function applySync(state: StateAccess, fabric: Fabric, plan: SyncPlan, r: SyncRequest): Promise<SyncResult> {
  checkMassRevocation(plan, r.maxShare ?? DEFAULT_MASS_REVOCATION_SHARE, r.confirmMassRevocation === true);
  if (plan.reissue.length && r.out === undefined) throw inputError(STAFF_MESSAGES, 'sync.needOut', { site: plan.site, count: plan.reissue.length });
  const db = await state.database();
  const pki = await PkiStore.open(db, state.stateDir);
  const staff = await openStaff(state);
  const roster = await staff.roster(plan.site);
  const revoked: SyncResult['revoked'][number][] = [];
  const issued: SyncResult['issued'][number][] = [];
  const audit = (action: string, staffNumber: string, details: Record<string, unknown>) =>
    recordAudit(db, { action, outcome: 'ok', subject: `${plan.site}/${staffNumber}`, ...(r.actor ? { actor: r.actor } : {}), details });
  if (plan.reissue.length) {
    const issuer = newIssuer(pki, fabric, await r.passphrase());
    await recoverStaged(pki, r.out!);
    for (const [i, a] of plan.reissue.entries()) {
      const person = roster.get(a.newNumber)!;
      const got = await enrollOne(issuer, r.out!, plan.site, person, r.actor);
      await audit('staff.reissue', a.newNumber, { serial: got.record.serial, replaces: a.serial, previousNumber: a.staffNumber });
      issued.push({ serial: got.record.serial, staffNumber: a.newNumber, replaces: a.serial, bundle: got.files!.p12!, handout: got.files!.handout! });
      r.progress?.(`re-issued ${i + 1}/${plan.reissue.length}`);
    }
  }
  const revocations: [SyncAction, RevocationReason][] = [...plan.reissue.map((a) => [a, 'superseded'] as [SyncAction, RevocationReason]), ...plan.supersede.map((a) => [a, 'superseded'] as [SyncAction, RevocationReason]), ...plan.revoke.map((a) => [a, 'affiliationChanged'] as [SyncAction, RevocationReason])];
  for (const [i, [a, reason]] of revocations.entries()) {
    await pki.markRevoked(a.serial, reason, r.actor ? { actor: r.actor } : {});
    await audit(reason === 'affiliationChanged' ? 'staff.leaver' : 'staff.supersede', a.staffNumber, { serial: a.serial, reason });
    revoked.push({ serial: a.serial, staffNumber: a.staffNumber, reason });
    r.progress?.(`revoked ${i + 1}/${revocations.length}`);
  }
  return { plan, revoked, issued };
}

// ---- enrollment of joiners

export interface EnrollRequest {
  readonly site: string;
  readonly out: string;
  readonly passphrase: () => Promise<string>;
  readonly actor?: string;
  /** Told after each person: done, total. */
  readonly progress?: (done: number, total: number) => void;
  /** @default now */
  readonly now?: Date;
}

export interface EnrollResult {
  readonly site: string;
  readonly enrolled: readonly { staffNumber: string; serial: string; bundle: string; handout: string }[];
  /** Staged by an interrupted run and finished now (the certificate had been recorded). */
  readonly recovered: readonly string[];
  /** Active on the roster with a staff-auth certificate already. */
  readonly alreadyHolding: number;
}

/**
 * Enroll a site's joiners: every active person of the roster without a valid staff-auth
 * certificate gets one, with a centrally generated key, as a PKCS#12 bundle and a handout.
 * Resumable: whoever got a certificate in an earlier run is skipped, and files an interrupted run
 * staged are finished or removed first (staff/enroll.ts).
 */
export async function enrollJoiners(state: StateAccess, fabric: Fabric, r: EnrollRequest): Promise<EnrollResult> {
  const staff = await openStaff(state);
  const roster = await requireRoster(staff, fabric, r.site);
  const pki = await PkiStore.open(await state.database(), state.stateDir);
  const { finished } = await recoverStaged(pki, r.out);
  const holders = new Set((await staffCertificates(pki, r.site, r.now ?? new Date())).filter((c) => c.profile === STAFF_ENROLL_PROFILE).map((c) => c.staffNumber!));
  const active = [...roster.values()].filter((e) => e.status === 'active').sort((a, b) => a.staffNumber.localeCompare(b.staffNumber));
  const joiners = active.filter((e) => !holders.has(e.staffNumber));
  const enrolled: EnrollResult['enrolled'][number][] = [];
  if (joiners.length) {
    const issuer = newIssuer(pki, fabric, await r.passphrase());
    for (const p of joiners) {
      const got = await enrollOne(issuer, r.out, r.site, p, r.actor);
      enrolled.push({ staffNumber: p.staffNumber, serial: got.record.serial, bundle: got.files!.p12!, handout: got.files!.handout! });
      r.progress?.(enrolled.length, joiners.length);
    }
  }
  return { site: r.site, enrolled, recovered: finished, alreadyHolding: active.length - joiners.length };
}

export interface CmpEnrollRequest {
  readonly site: string;
  readonly out: string;
  /** The service's public URL (https://host:port): the stations' CMP URL is `<url>/cmp/<site>`. */
  readonly serviceUrl: string;
  readonly passphrase: () => Promise<string>;
  /** How long each secret may be used. @default 7 */
  readonly validityDays?: number;
  readonly actor?: string;
  /** Told after each person: done, total. */
  readonly progress?: (done: number, total: number) => void;
  /** @default now */
  readonly now?: Date;
}

export interface CmpEnrollResult {
  readonly site: string;
  /** The CSV for the enrollment stations (OUT/cmp-secrets.csv). */
  readonly file: string;
  readonly cmpUrl: string;
  readonly created: readonly { staffNumber: string; name: string; reference: string; expiresAt: string }[];
  /** Staged by an interrupted run and finished now (the secret had been recorded). */
  readonly recovered: readonly string[];
  /** Active on the roster with an unused secret still valid (from an earlier run): not given another. */
  readonly pending: readonly string[];
  /** Active on the roster with a staff-auth certificate already. */
  readonly alreadyHolding: number;
}

/**
 * Enroll a site's joiners over CMP: every active person of the roster without a valid staff-auth
 * certificate and without an unused secret gets a one-time secret for their own subject (CN = name,
 * serialNumber = staff number, profile staff-auth), exported with the CMP URL for the enrollment
 * stations. Resumable: lines an interrupted run staged are finished or dropped first
 * (staff/enroll-cmp.ts), and whoever holds a certificate or a secret still usable is skipped; once
 * a secret expires unused, the next run gives that person a new one. Each secret is audited
 * (`cmp.secret.create`, with the staff number), and the run (`staff.enroll`).
 */
export async function enrollJoinersCmp(state: StateAccess, fabric: Fabric, r: CmpEnrollRequest): Promise<CmpEnrollResult> {
  const now = r.now ?? new Date();
  const days = r.validityDays ?? CMP_SECRET_DEFAULT_VALIDITY_DAYS;
  const staff = await openStaff(state);
  const roster = await requireRoster(staff, fabric, r.site);
  const db = await state.database();
  const pki = await PkiStore.open(db, state.stateDir);
  const cmp = await CmpStore.open(db);
  checkCmpOut(r.out);
  const { finished } = await recoverCmpStaged(cmp, r.out);
  const holders = new Set((await staffCertificates(pki, r.site, now)).filter((c) => c.profile === STAFF_ENROLL_PROFILE).map((c) => c.staffNumber!));
  const waiting = new Set<string>();
  for (const s of await cmp.listSecrets(r.site)) {
    if (s.profile !== STAFF_ENROLL_PROFILE || secretState(s, now) !== 'unused') continue;
    const number = parseSubject(s.subject).find((a) => a.type === 'serialNumber')?.value;
    if (number !== undefined) waiting.add(number);
  }
  const active = [...roster.values()].filter((e) => e.status === 'active').sort((a, b) => a.staffNumber.localeCompare(b.staffNumber));
  const joiners = active.filter((e) => !holders.has(e.staffNumber) && !waiting.has(e.staffNumber));
  const cmpUrl = `${r.serviceUrl.replace(/\/+$/, '')}/cmp/${r.site}`;
  const created: CmpEnrollResult['created'][number][] = [];
  if (joiners.length) {
    const keyring = await openCmpKeyring(await r.passphrase());
    for (const p of joiners) {
      const batch = prepareSecrets(cmp, fabric, keyring, [{ site: r.site, profile: STAFF_ENROLL_PROFILE, subject: subjectText([{ type: 'CN', value: p.name }, { type: 'serialNumber', value: p.staffNumber }]), validityDays: days }], {
        now,
        ...(r.actor ? { actor: r.actor } : {}),
        audit: { staffNumber: p.staffNumber, via: 'staff enroll --method cmp' },
      });
      const s = batch.secrets[0]!;
      await stageRecordAppend(r.out, p.staffNumber, s.reference, cmpSecretLine(s, p, cmpUrl), () => batch.record());
      created.push({ staffNumber: p.staffNumber, name: p.name, reference: s.reference, expiresAt: s.expiresAt });
      r.progress?.(created.length, joiners.length);
    }
  }
  const pending = active.filter((e) => waiting.has(e.staffNumber) && !holders.has(e.staffNumber)).map((e) => e.staffNumber);
  await recordAudit(db, { action: 'staff.enroll', outcome: 'ok', subject: r.site, ...(r.actor ? { actor: r.actor } : {}), details: { method: 'cmp', created: created.length, recovered: finished.length, pending: pending.length, file: cmpSecretsFile(r.out), cmpUrl } });
  return { site: r.site, file: cmpSecretsFile(r.out), cmpUrl, created, recovered: finished, pending, alreadyHolding: active.filter((e) => holders.has(e.staffNumber)).length };
}

// ---- renewal

/**
 * Why the holder of a staff certificate may not renew it (CMP cr or kur), or undefined when they
 * may: only someone still active on their site's roster renews. A site without a roster refuses
 * no one (there is nothing to check against); a renewal is never refused for coming early, so a
 * holder's client may renew whenever it likes within the certificate's life.
 */
export async function renewalRefusal(state: StateAccess, holder: { readonly site: string; readonly staffNumber: string | null; readonly serial: string }): Promise<string | undefined> {
  if (holder.staffNumber === null) return undefined;
  const standing = await (await openStaff(state)).standing(holder.site, holder.staffNumber);
  if (standing === null || standing === 'active') return undefined;
  return `renewal of certificate ${holder.serial} refused: staff number ${holder.staffNumber} is ${standing === 'left' ? 'marked left' : 'no longer listed'} on site ${holder.site}'s roster, want someone active on it; a leaver's certificate is revoked by jinbao staff sync, not renewed (if this is wrong, the HR roster needs correcting first)`;
}

// ---- expiry

export interface ExpiringCertificate {
  readonly site: string;
  readonly staffNumber: string;
  readonly name: string;
  readonly serial: string;
  readonly profile: string;
  readonly notAfter: string;
  readonly daysLeft: number;
  /** Whether the holder is active on the site's roster (a renewal candidate), or the site has no roster (null). */
  readonly onRoster: boolean | null;
  /** Whether the service renews it over CMP kur: not for someone who left the roster (revoked by staff sync instead). */
  readonly renewable: boolean;
  /** The roster's email address of the holder, for the renewal reminder; null when none or no roster. */
  readonly email: string | null;
  /** The CA that issued it, and the one a renewal comes from now (its successor once it is rolled over). */
  readonly issuer: string;
  readonly renewsFrom: string;
  /** Where the holder's client renews it (`openssl cmp -cmd kur -server <cmpUrl> …`): the service's public URL as jinbao serve recorded it; null when unknown. */
  readonly cmpUrl: string | null;
}

/** "30d" → 30 days; whole days only. */
export function parseWithin(value: string): number {
  const m = /^(\d{1,4})d$/.exec(value.trim());
  if (!m || Number(m[1]) < 1) throw inputError(STAFF_MESSAGES, 'within.days', { value });
  return Number(m[1]);
}

/** Active staff certificates under an unrevoked CA (active or retiring) whose validity ends within `days` from `now`, soonest first. */
export async function expiringStaffCertificates(state: StateAccess, opts: { readonly days: number; readonly site?: string; readonly now?: Date }): Promise<ExpiringCertificate[]> {
  const now = opts.now ?? new Date();
  const until = new Date(now.getTime() + opts.days * 86_400_000);
  const db = await state.database();
  const staff = await openStaff(state);
  const pki = await PkiStore.open(db, state.stateDir);
  const cas = await pki.listCas();
  const liveCas = new Set(cas.filter((c) => c.status !== 'revoked').map((c) => c.id));
  const successors = new Map(cas.filter((c) => c.replaces !== null).map((c) => [c.replaces!, c.id]));
  const current = (id: string): string => {
    let at = id;
    for (let next = successors.get(at); next !== undefined; next = successors.get(at)) at = next;
    return at;
  };
  const serviceUrl = (await pki.servicePublicUrl())?.replace(/\/+$/, '');
  const certs = (await pki.listCertificates({ status: 'active', validAt: now, expiringBefore: until, ...(opts.site !== undefined ? { site: opts.site } : {}) })).filter(
    (c) => STAFF_PROFILES.includes(c.profile) && c.staffNumber !== null && liveCas.has(c.caId) && c.notAfter.getTime() <= until.getTime(),
  );
  const withRoster = await staff.sitesWithRoster();
  const rosters = new Map<string, Map<string, RosterEntry>>();
  const out: ExpiringCertificate[] = [];
  for (const c of certs) {
    if (withRoster.has(c.site) && !rosters.has(c.site)) rosters.set(c.site, await staff.roster(c.site));
    const roster = rosters.get(c.site);
    const onRoster = roster ? roster.get(c.staffNumber!)?.status === 'active' : null;
    out.push({
      site: c.site,
      staffNumber: c.staffNumber!,
      name: c.commonName,
      serial: c.serial,
      profile: c.profile,
      notAfter: c.notAfter.toISOString(),
      daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / 86_400_000),
      onRoster,
      renewable: onRoster !== false,
      email: roster?.get(c.staffNumber!)?.email || null,
      issuer: c.caId,
      renewsFrom: current(c.caId),
      cmpUrl: serviceUrl !== undefined ? `${serviceUrl}/cmp/${c.site}` : null,
    });
  }
  return out.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.site.localeCompare(b.site) || a.staffNumber.localeCompare(b.staffNumber));
}
