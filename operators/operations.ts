import { createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Fabric } from '../fabric/index.js';
import { recordAudit } from '../lib/audit.js';
import type { StateAccess } from '../lib/context.js';
import { inputError } from '../lib/i18n/index.js';
import { bitString, integer, oid, seq, set, signatureAlgorithm, tlv } from '../pki/der.js';
import { caKeyInUse, openCaSigner, type CaSigner } from '../pki/index.js';
import { issueCertificate, openPki, revokeCertificate } from '../pki/operations.js';
import { checkCeremonyCounts, formatShare, splitSecret, type Ceremony } from './ceremony.js';
import { generatePassword, hashPassword } from './credentials.js';
import { OPERATORS_MESSAGES } from './messages.js';
import { assignmentConflict, isRole, ROLES, separation, type Assignment, type Operator, type OperatorStatus, type Role, type Separation } from './model.js';
import { insertCeremony, insertOperator, setPasswordHash, latestCeremony, migrateOperators, readOperator, readOperatorByCertificate, readOperators, setOperatorStatus, writeWithAudit } from './store.js';
import { makeDirs } from '../lib/dirs.js';

export interface AddOperatorRequest {
  readonly name: string;
  readonly staffNumber: string;
  readonly role: string;
  /** A province's site id; absent: the whole nation. */
  readonly scope?: string;
  /** Where the PKCS#12 bundle and its password file go. */
  readonly outDir: string;
  readonly passphrase: string;
  readonly validityDays?: number;
  readonly actor?: string;
  readonly now?: Date;
}

export interface AddedOperator {
  readonly operator: Operator;
  /** `loginPassword`: the operator's first password for the service (the knowledge factor), to be changed by them. */
  readonly files: { readonly p12: string; readonly password: string; readonly loginPassword: string; readonly certificate: string; readonly chain: string };
}

const STAFF_NUMBER = /^[0-9A-Za-z-]{4,32}$/;

/** The request checked against the inventory and the roles; the assignment it asks for. */
function checkRequest(fabric: Fabric, r: AddOperatorRequest): Assignment {
  const name = r.name.trim();
  if (name === '' || name.length > 64) throw inputError(OPERATORS_MESSAGES, 'add.badName', { name: r.name });
  if (!STAFF_NUMBER.test(r.staffNumber)) throw inputError(OPERATORS_MESSAGES, 'add.badStaffNumber', { staffNumber: r.staffNumber });
  if (!isRole(r.role)) throw inputError(OPERATORS_MESSAGES, 'add.badRole', { role: r.role, roles: ROLES.join(', ') });
  let scope: string | null = null;
  if (r.scope !== undefined && r.scope !== 'nation') {
    const site = fabric.findSite(r.scope);
    if (!site || site.tier !== 'province') throw inputError(OPERATORS_MESSAGES, 'add.badScope', { scope: r.scope });
    scope = site.id;
  }
  return { staffNumber: r.staffNumber, name, role: r.role, scope };
}

/** A PKCS#10 request for the operator's own P-256 key: CN the name, serialNumber the staff number. */
function operatorCsr(a: Assignment): { der: Buffer; keyPem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const rdn = (type: string, tag: number, value: string) => set(seq(oid(type), tlv(tag, Buffer.from(value))));
  const subject = seq(rdn('2.5.4.5', 0x13, a.staffNumber), rdn('2.5.4.3', 0x0c, a.name));
  const info = seq(integer(0), subject, spki, tlv(0xa0, []));
  const der = seq(info, signatureAlgorithm('1.2.840.10045.4.3.2'), bitString(sign('sha256', info, privateKey)));
  return { der, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

async function refuse(state: StateAccess, action: string, subject: string, actor: string | undefined, err: Error): Promise<never> {
  await recordAudit(await state.database(), { action, outcome: 'refused', subject, ...(actor ? { actor } : {}), details: { reason: err.message } });
  throw err;
}

/**
 * Create an operator: check the role rules, issue their operator certificate (staff CA of the
 * scope's province, or the ministry's; profile staff-auth, their own P-256 key generated here) into
 * a PKCS#12 bundle in `outDir` with a random password in a file beside it, and record the
 * assignment with its audit entry. A refusal issues nothing and is audited.
 */
export async function addOperator(state: StateAccess, fabric: Fabric, r: AddOperatorRequest): Promise<AddedOperator> {
  const db = await state.database();
  await migrateOperators(db);
  const wanted = checkRequest(fabric, r);
  const subject = `${wanted.staffNumber}/${wanted.role}`;
  const conflict = assignmentConflict(await readOperators(db, { staffNumber: wanted.staffNumber }), wanted);
  if (conflict) await refuse(state, 'operator.add', subject, r.actor, inputError(OPERATORS_MESSAGES, conflict.key, conflict.params));
  const outDir = resolve(r.outDir);
  const password = randomBytes(18).toString('base64url');
  const csr = operatorCsr(wanted);
  const pki = await openPki(state);
  const now = r.now ?? new Date();
  const loginPassword = generatePassword();
  const loginHash = await hashPassword(loginPassword);
  let issued;
  let passwordFile = '';
  let loginFile = '';
  try {
    issued = await issueCertificate(
      pki,
      fabric,
      r.passphrase,
      { profile: 'staff-auth', site: wanted.scope ?? fabric.ministry.id, csr: csr.der, validityDays: r.validityDays ?? 365, now, ...(r.actor ? { actor: r.actor } : {}) },
      { outDir, keyPem: csr.keyPem, p12Password: password },
    );
    passwordFile = join(outDir, `${issued.issued.record.serial}.p12.password`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600, flag: 'wx' });
    loginFile = join(outDir, `${issued.issued.record.serial}.login-password`);
    writeFileSync(loginFile, `${loginPassword}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (issued) {
      // The bundle is useless without its password: take the certificate back.
      await revokeCertificate(pki, issued.issued.record.serial, 'cessationOfOperation');
      for (const f of Object.values(issued.files)) rmSync(f, { force: true });
      if (passwordFile) rmSync(passwordFile, { force: true });
    }
    throw err;
  }
  const record = issued.issued.record;
  const operator: Operator = {
    id: `op-${randomBytes(5).toString('hex')}`,
    ...wanted,
    status: 'active',
    certificateSerial: record.serial,
    caId: record.caId,
    notAfter: record.notAfter.toISOString(),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  try {
    await writeWithAudit(db, async (tx) => {
      // Another process may have added the person meanwhile: the rules are checked again under the lock.
      const again = assignmentConflict(await readOperators(tx, { staffNumber: wanted.staffNumber }), wanted);
      if (again) throw inputError(OPERATORS_MESSAGES, again.key, again.params);
      await insertOperator(tx, operator);
      await setPasswordHash(tx, operator.id, loginHash, now, 'issued');
      return { result: undefined, audit: { action: 'operator.add', outcome: 'ok', subject: operator.id, ...(r.actor ? { actor: r.actor } : {}), details: describe(operator) } };
    });
  } catch (err) {
    await revokeCertificate(pki, record.serial, 'cessationOfOperation');
    rmSync(passwordFile, { force: true });
    rmSync(loginFile, { force: true });
    for (const f of Object.values(issued.files)) rmSync(f, { force: true });
    return refuse(state, 'operator.add', subject, r.actor, err as Error);
  }
  return { operator, files: { p12: issued.files.p12!, password: passwordFile, loginPassword: loginFile, certificate: issued.files.certificate!, chain: issued.files.chain! } };
}

function describe(o: Operator): Record<string, unknown> {
  return { staffNumber: o.staffNumber, name: o.name, role: o.role, scope: o.scope ?? 'nation', certificate: o.certificateSerial, ca: o.caId, status: o.status };
}

export async function listOperators(state: StateAccess, opts: { all?: boolean } = {}): Promise<Operator[]> {
  if (!state.hasStore()) return [];
  const db = await state.database();
  await migrateOperators(db);
  const all = await readOperators(db);
  return opts.all ? all : all.filter((o) => o.status !== 'removed');
}

/** One operator by id, or every assignment of a staff number. */
export async function showOperator(state: StateAccess, idOrStaffNumber: string): Promise<Operator[]> {
  const db = await state.database();
  await migrateOperators(db);
  const one = await readOperator(db, idOrStaffNumber);
  const found = one ? [one] : await readOperators(db, { staffNumber: idOrStaffNumber });
  if (found.length === 0) throw inputError(OPERATORS_MESSAGES, 'unknown', { id: idOrStaffNumber });
  return found;
}

const TRANSITIONS: Readonly<Record<'suspend' | 'resume' | 'remove', { from: readonly OperatorStatus[]; to: OperatorStatus }>> = {
  suspend: { from: ['active'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'active' },
  remove: { from: ['active', 'suspended'], to: 'removed' },
};

/**
 * Suspend, resume or remove an operator, audited. Removal also revokes the operator certificate
 * (cessationOfOperation): a removed administrator's certificate must not authenticate anywhere.
 */
export async function changeOperator(state: StateAccess, id: string, change: keyof typeof TRANSITIONS, opts: { actor?: string; now?: Date } = {}): Promise<Operator> {
  const db = await state.database();
  await migrateOperators(db);
  const now = opts.now ?? new Date();
  const t = TRANSITIONS[change];
  let changed: Operator;
  try {
    changed = await writeWithAudit(db, async (tx) => {
      const o = await readOperator(tx, id);
      if (!o) throw inputError(OPERATORS_MESSAGES, 'unknown', { id });
      if (!t.from.includes(o.status)) throw inputError(OPERATORS_MESSAGES, 'badTransition', { id, status: o.status, change });
      await setOperatorStatus(tx, id, t.to, now);
      const next = { ...o, status: t.to, updatedAt: now.toISOString() };
      return { result: next, audit: { action: `operator.${change}`, outcome: 'ok', subject: id, ...(opts.actor ? { actor: opts.actor } : {}), details: describe(next) } };
    });
  } catch (err) {
    return refuse(state, `operator.${change}`, id, opts.actor, err as Error);
  }
  if (change === 'remove') {
    const pki = await openPki(state);
    const cert = await pki.findCertificate(changed.certificateSerial);
    if (cert && cert.status !== 'revoked') await revokeCertificate(pki, changed.certificateSerial, 'cessationOfOperation');
  }
  return changed;
}

/** The separation of MLPS's three administrators in this state (no store, no operators: local only). */
export async function operatorSeparation(state: StateAccess): Promise<Separation> {
  return separation(await listOperators(state, { all: true }));
}

export type { Role };

export interface SplitRequest {
  readonly passphrase: string;
  readonly shares: number;
  readonly threshold: number;
  readonly outDir: string;
  readonly actor?: string;
  readonly now?: Date;
}

/**
 * `jinbao ceremony split`: check the passphrase opens every CA key in use (active or retiring) (useless shares are worse
 * than none), split it, write one file per custodian (mode 0600, never over an existing one) and
 * record the ceremony (counts and share hashes) with its audit entry. A failure writes nothing.
 */
export async function splitPassphrase(state: StateAccess, r: SplitRequest): Promise<{ ceremony: Ceremony; files: string[] }> {
  checkCeremonyCounts(r.shares, r.threshold);
  const pki = await openPki(state);
  try {
    for (const ca of await pki.listCas()) if (caKeyInUse(ca)) await openCaSigner(pki, ca.id, r.passphrase);
  } catch (err) {
    throw inputError(OPERATORS_MESSAGES, 'ceremony.wrongPassphrase', { reason: (err as Error).message }, { cause: err });
  }
  const outDir = resolve(r.outDir);
  makeDirs(outDir);
  if (readdirSync(outDir).some((f) => /^share-\d+-of-\d+\.txt$/.test(f))) throw inputError(OPERATORS_MESSAGES, 'ceremony.outExists', { dir: outDir });
  const { ceremony, shares } = await splitSecret(r.passphrase, r.shares, r.threshold, r.now);
  const files: string[] = [];
  try {
    for (const s of shares) {
      const file = join(outDir, `share-${s.number}-of-${r.shares}.txt`);
      writeFileSync(file, formatShare(s, r.shares, r.threshold), { mode: 0o600, flag: 'wx' });
      files.push(file);
    }
    const db = await state.database();
    await migrateOperators(db);
    await writeWithAudit(db, async (tx) => {
      await insertCeremony(tx, ceremony);
      return { result: undefined, audit: { action: 'ceremony.split', outcome: 'ok', subject: ceremony.id, ...(r.actor ? { actor: r.actor } : {}), details: { shares: ceremony.shares, threshold: ceremony.threshold, shareHashes: ceremony.shareHashes } } };
    });
  } catch (err) {
    for (const f of files) rmSync(f, { force: true });
    throw err;
  }
  return { ceremony, files };
}

/** The ceremony in force; refused when none was held. */
export async function currentCeremony(state: StateAccess): Promise<Ceremony> {
  const db = await state.database();
  await migrateOperators(db);
  const c = await latestCeremony(db);
  if (!c) throw inputError(OPERATORS_MESSAGES, 'ceremony.noCeremony');
  return c;
}

/**
 * Every CA key in use (active or retiring) opened with `passphrase` (what unsealing checks the rebuilt secret with), by
 * CA id; undefined when one does not open. The service keeps the signers: each key is opened once.
 */
export async function passphraseOpensCaKeys(state: StateAccess, passphrase: string): Promise<Map<string, CaSigner> | undefined> {
  const pki = await openPki(state);
  const signers = new Map<string, CaSigner>();
  try {
    for (const ca of await pki.listCas()) if (caKeyInUse(ca)) signers.set(ca.id, await openCaSigner(pki, ca.id, passphrase));
    return signers;
  } catch {
    return undefined;
  }
}

/** The operator a client certificate (serial, hex) authenticates, if any. */
export async function operatorByCertificate(state: StateAccess, serial: string): Promise<Operator | undefined> {
  const db = await state.database();
  await migrateOperators(db);
  return readOperatorByCertificate(db, serial.toLowerCase());
}
