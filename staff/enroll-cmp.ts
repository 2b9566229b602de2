import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CmpStore, CreatedSecret } from '../pki/cmp/index.js';
import type { RosterEntry } from './roster.js';
import { inputError } from '../lib/i18n/index.js';
import { STAFF_MESSAGES } from './messages.js';
import { makeDirs } from '../lib/dirs.js';

/**
 * Enrollment of joiners over CMP: one-time secrets exported for the enrollment stations, one CSV
 * per output folder (OUT/cmp-secrets.csv, mode 0600), a line per person: the reference, the secret,
 * the subject to ask for (OpenSSL's form, as `openssl cmp -subject` takes it) and the CMP URL.
 *
 * Crash safety, as for PKCS#12 bundles: each person's line is written under a staging name
 * carrying the secret's reference (OUT/cmp-staging/NUMBER.csv.partial-REFERENCE) before the secret
 * is recorded, appended to the CSV after the commit, then the staged file is removed.
 * `recoverCmpStaged` runs first on every enrollment: a staged line whose secret is recorded is
 * appended (unless the CSV has it already); one whose secret is not recorded is removed (the person
 * gets a new secret). A person with an unused secret still valid is not given another.
 */

export const CMP_SECRETS_FILE = 'cmp-secrets.csv';
export const CMP_SECRETS_HEADER = 'reference,secret,site,staff_number,name,profile,subject,expires_at,cmp_url';

export const cmpSecretsFile = (out: string) => join(resolve(out), CMP_SECRETS_FILE);
const stagingDir = (out: string) => join(resolve(out), 'cmp-staging');

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** OpenSSL's subject form, `/CN=张三/serialNumber=S0001`, with "/" and "\" in values escaped. */
export function opensslSubject(attrs: readonly { readonly type: string; readonly value: string }[]): string {
  return attrs.map((a) => `/${a.type}=${a.value.replace(/[\\/]/g, (c) => `\\${c}`)}`).join('');
}

/** The person's line of the stations' CSV. */
export function cmpSecretLine(s: CreatedSecret, p: RosterEntry, cmpUrl: string): string {
  return [s.reference, s.secret, s.site, p.staffNumber, p.name, s.profile, opensslSubject([{ type: 'CN', value: p.name }, { type: 'serialNumber', value: p.staffNumber }]), s.expiresAt, cmpUrl].map(csvField).join(',');
}

/** The folders exist and can be written, before any secret is made. */
export function checkCmpOut(out: string): void {
  for (const dir of [resolve(out), stagingDir(out)]) {
    try {
      makeDirs(dir);
      const probe = join(dir, `.probe-${process.pid}`);
      writeFileSync(probe, '', { mode: 0o600 });
      rmSync(probe);
    } catch (err) {
      throw inputError(STAFF_MESSAGES, 'out.secretDir', { dir, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, { cause: err });
    }
  }
}

/** References already in the CSV (a line is recorded there once). */
function listedReferences(out: string): Set<string> {
  const file = cmpSecretsFile(out);
  if (!existsSync(file)) return new Set();
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]!)
      .filter(Boolean),
  );
}

/** Append a line to the CSV durably (created with its header, mode 0600, on first use). */
function appendLine(out: string, line: string): void {
  const file = cmpSecretsFile(out);
  if (!existsSync(file)) {
    try {
      writeFileSync(file, `${CMP_SECRETS_HEADER}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * One person: the line staged under the secret's reference, the secret recorded (`record`, one
 * transaction with its audit entry), the line appended to the CSV, the staged file removed.
 */
export async function stageRecordAppend(out: string, staffNumber: string, reference: string, line: string, record: () => Promise<void>): Promise<void> {
  const staged = join(stagingDir(out), `${staffNumber}.csv.partial-${reference}`);
  try {
    writeFileSync(staged, `${line}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw inputError(STAFF_MESSAGES, 'out.secretFile', { file: staged, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message, staff: staffNumber }, { cause: err });
  }
  try {
    await record();
  } catch (err) {
    rmSync(staged, { force: true });
    throw err;
  }
  appendLine(out, line);
  rmSync(staged, { force: true });
}

/**
 * Finish or remove what an interrupted CMP enrollment left staged in `out`: lines whose secret is
 * recorded are appended to the CSV (once), the others dropped. Returns the staff numbers of each.
 */
export async function recoverCmpStaged(cmp: CmpStore, out: string): Promise<{ finished: string[]; removed: string[] }> {
  const finished: string[] = [];
  const removed: string[] = [];
  const dir = stagingDir(out);
  if (!existsSync(dir)) return { finished, removed };
  const listed = listedReferences(out);
  for (const name of readdirSync(dir).sort()) {
    const m = /^(.+)\.csv\.partial-([0-9a-z-]+)$/.exec(name);
    if (!m) continue;
    const [, staffNumber, reference] = m as unknown as [string, string, string];
    const file = join(dir, name);
    if (await cmp.secret(reference)) {
      if (!listed.has(reference)) appendLine(out, readFileSync(file, 'utf8').replace(/\n$/, ''));
      finished.push(staffNumber);
    } else removed.push(staffNumber);
    rmSync(file, { force: true });
  }
  return { finished, removed };
}
