import { appendAudit, AUDIT_LOCK, type AuditInput } from '../lib/audit.js';
import type { StateAccess } from '../lib/context.js';
import { inputError } from '../lib/i18n/index.js';
import type { Database, Queryable } from '../lib/sql/index.js';
import { generatePassword, hashPassword, newSessionToken, passwordProblem, sessionEnd, tokenHash, verifyPassword, type AuthPolicy } from './credentials.js';
import { OPERATORS_MESSAGES } from './messages.js';
import { ADMINISTRATOR_ROLES, type Conflict, type Operator } from './model.js';
import {
  credentialIds,
  endSession,
  endSessionsOf,
  insertSession,
  migrateOperators,
  OPERATORS_LOCK,
  readCredential,
  readOperator,
  readOperators,
  readSession,
  setLoginState,
  setPasswordHash,
  touchSession,
} from './store.js';

/**
 * The service's second factor, over the store: every request in client mode carries either the
 * operator's password or a session token from `jinbao login`, beside the operator certificate the
 * TLS layer already checked. Wrong passwords are counted per operator; at the policy's limit the
 * operator is locked (refused even with the right password) until a security administrator unlocks
 * them. Sessions end after idle time, after their lifetime, at logout, or when the operator is
 * locked. Every refusal, lock, login, logout and expiry is in the audit log, in the transaction
 * that records it. The state lives in the store, so every process of `serve --workers N` agrees.
 */

/** What the client presented beside its certificate. */
export type Presented = { readonly password: string } | { readonly session: string } | Record<string, never>;

/** Who is asking, as the audit log records them, and from where. */
export interface Caller {
  readonly operator: Operator;
  /** The certificate serial the TLS layer authenticated (lower-case hex). */
  readonly certificateSerial: string;
  readonly actor: string;
  readonly remote: string;
  /** The command asked for (recorded with a refusal). */
  readonly command?: string;
}

export type AuthOutcome = { readonly ok: true; readonly via: 'password' | 'session' } | AuthRefusal;
export interface AuthRefusal {
  readonly ok: false;
  readonly status: 401 | 403;
  readonly reason: Conflict;
}

/** English text of a refusal, for the audit log's `reason`. */
export type Explain = (reason: Conflict) => string;

const refusal = (status: 401 | 403, key: string, params: Record<string, string>): AuthRefusal => ({ ok: false, status, reason: { key: `auth.${key}`, params } });

function entry(c: Caller, action: string, outcome: 'ok' | 'refused', details: Record<string, unknown>): AuditInput {
  return { action, outcome, subject: c.operator.id, actor: c.actor, details: { remote: c.remote, certificate: c.certificateSerial, ...(c.command ? { command: c.command } : {}), ...details } };
}

/** A change of the login state and its audit entries, in one transaction. */
function record<T>(db: Database, fn: (tx: Queryable) => Promise<{ result: T; audit: AuditInput[] }>): Promise<T> {
  return db.write(async (tx) => {
    const { result, audit } = await fn(tx);
    await appendAudit(tx, ...audit);
    return result;
  }, { locks: [OPERATORS_LOCK, AUDIT_LOCK] });
}

/**
 * Check the second factor of a request, or of `jinbao login` (`login`: a password is required and
 * the entries are `serve.login`). Never throws for a refusal: it is audited and returned.
 */
export async function authenticate(state: StateAccess, c: Caller, presented: Presented, policy: AuthPolicy, explain: Explain, opts: { now?: Date; login?: boolean } = {}): Promise<AuthOutcome> {
  const db = await state.database();
  await migrateOperators(db);
  const now = opts.now ?? new Date();
  const action = opts.login ? 'serve.login' : 'serve.auth';
  const id = c.operator.id;
  const refuse = (r: AuthRefusal, details: Record<string, unknown> = {}): Promise<AuthRefusal> =>
    record(db, async () => ({ result: r, audit: [entry(c, action, 'refused', { reason: explain(r.reason), ...details })] }));

  const credential = await readCredential(db, id);
  if (!credential) return refuse(refusal(401, 'noPassword', { id }));
  if (credential.lockedAt) return refuse(refusal(403, 'locked', { id, at: credential.lockedAt }));

  if ('session' in presented && !opts.login) {
    const hash = tokenHash(presented.session);
    const s = await readSession(db, hash);
    if (!s || s.operatorId !== id || s.certificateSerial !== c.certificateSerial) return refuse(refusal(401, 'unknownSession', { id }));
    if (s.endedAt) return refuse(refusal(401, 'sessionEnded', { id, at: s.endedAt, why: s.endReason ?? 'logout' }));
    const ended = sessionEnd(s, now, policy);
    if (ended) {
      const r = refusal(401, 'sessionExpired', { id, why: ended });
      return record(db, async (tx) => {
        // a concurrent request may have ended it first: one expiry entry either way
        const open = await endSession(tx, hash, now, ended);
        const expiry = entry(c, 'serve.session.expire', 'ok', { why: ended, createdAt: s.createdAt, lastUsedAt: s.lastUsedAt });
        return { result: r, audit: [...(open ? [expiry] : []), entry(c, action, 'refused', { reason: explain(r.reason) })] };
      });
    }
    await db.write((tx) => touchSession(tx, hash, now), { locks: [] });
    return { ok: true, via: 'session' };
  }
  if (!('password' in presented)) return refuse(refusal(401, 'passwordRequired', { id }));

  // the slow hash outside the transaction; the count and the lock inside, read again under the lock
  const right = await verifyPassword(presented.password, credential.passwordHash);
  return record(db, async (tx) => {
    const current = await readCredential(tx, id);
    if (!current || current.lockedAt) {
      const r = refusal(403, 'locked', { id, at: current?.lockedAt ?? now.toISOString() });
      return { result: r, audit: [entry(c, action, 'refused', { reason: explain(r.reason) })] };
    }
    if (right) {
      if (current.failedLogins > 0) await setLoginState(tx, id, 0, null);
      return { result: { ok: true, via: 'password' } as AuthOutcome, audit: [entry(c, action, 'ok', { via: 'password', ...(current.failedLogins > 0 ? { failedLoginsBefore: current.failedLogins } : {}) })] };
    }
    const failed = current.failedLogins + 1;
    const wrong = refusal(401, 'wrongPassword', { id, left: String(Math.max(0, policy.maxFailedLogins - failed)) });
    const counted = entry(c, action, 'refused', { reason: explain(wrong.reason), failedLogins: failed, maxFailedLogins: policy.maxFailedLogins });
    if (failed < policy.maxFailedLogins) {
      await setLoginState(tx, id, failed, null);
      return { result: wrong, audit: [counted] };
    }
    await setLoginState(tx, id, failed, now);
    const sessionsEnded = await endSessionsOf(tx, id, now, 'locked');
    const locked = refusal(403, 'nowLocked', { id, failed: String(failed) });
    return { result: locked, audit: [counted, entry(c, 'operator.lock', 'ok', { reason: explain(locked.reason), failedLogins: failed, sessionsEnded })] };
  });
}

export interface OpenedSession {
  readonly token: string;
  readonly expiresAt: string;
  readonly idleTimeoutSeconds: number;
}

/** `jinbao login`: the password checked (counted like any other), then a session bound to the certificate. */
export async function login(state: StateAccess, c: Caller, password: string | undefined, policy: AuthPolicy, explain: Explain, opts: { now?: Date } = {}): Promise<{ ok: true; session: OpenedSession } | AuthRefusal> {
  const now = opts.now ?? new Date();
  const auth = await authenticate(state, c, password === undefined ? {} : { password }, policy, explain, { now, login: true });
  if (!auth.ok) return auth;
  const token = newSessionToken();
  const expiresAt = new Date(now.getTime() + policy.sessionLifetimeMs).toISOString();
  const db = await state.database();
  await record(db, async (tx) => {
    await insertSession(tx, { tokenHash: tokenHash(token), operatorId: c.operator.id, certificateSerial: c.certificateSerial, remote: c.remote, createdAt: now.toISOString(), lastUsedAt: now.toISOString(), expiresAt, endedAt: null, endReason: null });
    return { result: undefined, audit: [entry(c, 'serve.session.open', 'ok', { expiresAt, idleTimeoutSeconds: policy.sessionIdleMs / 1000, session: tokenHash(token).slice(0, 12) })] };
  });
  return { ok: true, session: { token, expiresAt, idleTimeoutSeconds: policy.sessionIdleMs / 1000 } };
}

/** `jinbao logout`: the session ends (a session already ended or unknown is refused, audited). */
export async function logout(state: StateAccess, c: Caller, session: string | undefined, explain: Explain, opts: { now?: Date } = {}): Promise<{ ok: true } | AuthRefusal> {
  const db = await state.database();
  await migrateOperators(db);
  const now = opts.now ?? new Date();
  const hash = session === undefined ? undefined : tokenHash(session);
  const s = hash === undefined ? undefined : await readSession(db, hash);
  return record<{ ok: true } | AuthRefusal>(db, async (tx) => {
    if (!s || s.operatorId !== c.operator.id || s.certificateSerial !== c.certificateSerial || !(await endSession(tx, hash!, now, 'logout'))) {
      const r = refusal(401, 'noOpenSession', { id: c.operator.id });
      return { result: r, audit: [entry(c, 'serve.logout', 'refused', { reason: explain(r.reason) })] };
    }
    return { result: { ok: true } as const, audit: [entry(c, 'serve.logout', 'ok', { session: hash!.slice(0, 12), createdAt: s.createdAt })] };
  });
}

async function refused(db: Database, action: string, subject: string, actor: string | undefined, key: string, params: Record<string, string>): Promise<never> {
  const err = inputError(OPERATORS_MESSAGES, key, params);
  await record(db, async () => ({ result: undefined, audit: [{ action, outcome: 'refused', subject, ...(actor ? { actor } : {}), details: { reason: err.message } }] }));
  throw err;
}

/**
 * `jinbao operator unlock ID`: clear a lock and the failed-login count (a security administrator's
 * act). Refused, and audited, when the operator is unknown or not locked.
 */
export async function unlockOperator(state: StateAccess, id: string, opts: { actor?: string; now?: Date } = {}): Promise<{ operator: Operator; failedLogins: number; lockedAt: string }> {
  const db = await state.database();
  await migrateOperators(db);
  const now = opts.now ?? new Date();
  const o = await readOperator(db, id);
  if (!o) return refused(db, 'operator.unlock', id, opts.actor, 'unknown', { id });
  const cred = await readCredential(db, id);
  if (!cred?.lockedAt) return refused(db, 'operator.unlock', id, opts.actor, 'auth.notLocked', { id, failed: String(cred?.failedLogins ?? 0) });
  return record(db, async (tx) => {
    await setLoginState(tx, id, 0, null);
    return {
      result: { operator: o, failedLogins: cred.failedLogins, lockedAt: cred.lockedAt! },
      audit: [{ action: 'operator.unlock', outcome: 'ok', subject: id, at: now, ...(opts.actor ? { actor: opts.actor } : {}), details: { lockedAt: cred.lockedAt, failedLogins: cred.failedLogins, role: o.role } }],
    };
  });
}

/**
 * Set an operator's password: the one given (checked for length), or a new random one returned
 * once. The store keeps only its scrypt hash. Audited (never the password); a refusal too.
 */
export async function setOperatorPassword(state: StateAccess, id: string, opts: { password?: string; actor?: string; by?: string; now?: Date } = {}): Promise<{ operator: Operator; password: string; generated: boolean }> {
  const db = await state.database();
  await migrateOperators(db);
  const o = await readOperator(db, id);
  if (!o) return refused(db, 'operator.password', id, opts.actor, 'unknown', { id });
  if (o.status === 'removed') return refused(db, 'operator.password', id, opts.actor, 'badTransition', { id, status: o.status, change: 'password' });
  const problem = opts.password === undefined ? undefined : passwordProblem(opts.password);
  if (problem) return refused(db, 'operator.password', id, opts.actor, problem.key, problem.params);
  const password = opts.password ?? generatePassword();
  const hash = await hashPassword(password);
  const now = opts.now ?? new Date();
  await record(db, async (tx) => {
    await setPasswordHash(tx, id, hash, now, opts.by ?? opts.actor ?? 'local');
    return { result: undefined, audit: [{ action: 'operator.password', outcome: 'ok', subject: id, ...(opts.actor ? { actor: opts.actor } : {}), details: { role: o.role, chosen: opts.password !== undefined } }] };
  });
  return { operator: o, password, generated: opts.password === undefined };
}

/** What MLPS-IAM-06 reads: active administrators without a password (the service refuses them until one is set). */
export async function administratorsWithoutPassword(state: StateAccess): Promise<{ administrators: number; without: string[] }> {
  if (!state.hasStore()) return { administrators: 0, without: [] };
  const db = await state.database();
  await migrateOperators(db);
  const ids = await credentialIds(db);
  const admins = (await readOperators(db)).filter((o) => o.status === 'active' && ADMINISTRATOR_ROLES.includes(o.role));
  return { administrators: admins.length, without: admins.filter((o) => !ids.has(o.id)).map((o) => `${o.id} (${o.role}, ${o.name})`) };
}

/** The login state of operators, for `operator show`: whether a password is set, failed logins, a lock. */
export interface LoginState {
  readonly passwordSet: boolean;
  readonly passwordSetAt: string | null;
  readonly failedLogins: number;
  readonly lockedAt: string | null;
}

export async function loginStates(state: StateAccess, ids: readonly string[]): Promise<Map<string, LoginState>> {
  const db = await state.database();
  await migrateOperators(db);
  const out = new Map<string, LoginState>();
  for (const id of ids) {
    const c = await readCredential(db, id);
    out.set(id, { passwordSet: c !== undefined, passwordSetAt: c?.setAt ?? null, failedLogins: c?.failedLogins ?? 0, lockedAt: c?.lockedAt ?? null });
  }
  return out;
}
