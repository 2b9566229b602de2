/**
 * The second factor over a real SQLite store, with the clock injected: the password's hash, the
 * failed-login count and the lock, sessions ending by idle time, lifetime, logout and lock, and what
 * each leaves in the audit log. The service-level behaviour (the real CLI against jinbao serve) is in
 * service/test/client-mode.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { readAudit, verifyAudit } from '../../lib/audit.js';
import type { StateAccess } from '../../lib/context.js';
import { say } from '../../lib/i18n/index.js';
import type { Database } from '../../lib/sql/index.js';
import { stateBackends } from '../../lib/test/state-backends.js';
import { authenticate, login, logout, setOperatorPassword, unlockOperator, type Caller } from '../authentication.js';
import { hashPassword, passwordProblem, sessionEnd, verifyPassword, type AuthPolicy } from '../credentials.js';
import { OPERATORS_MESSAGES } from '../messages.js';
import type { Conflict, Operator } from '../model.js';
import { insertOperator, migrateOperators, readCredential } from '../store.js';

const POLICY: AuthPolicy = { maxFailedLogins: 3, sessionIdleMs: 60_000, sessionLifetimeMs: 3_600_000 };
const explain = (r: Conflict) => say({ catalogue: OPERATORS_MESSAGES, key: r.key, params: r.params }, 'en');
const T0 = new Date('2026-12-01T08:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

describe('the service password (scrypt)', () => {
  it('GIVEN a hash THEN only the same password verifies, each hash is salted, and an unreadable hash verifies nothing', async () => {
    const h = await hashPassword('正确的马 battery staple');
    expect(h).toMatch(/^scrypt\$16\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('正确的马 battery staple', h)).toBe(true);
    expect(await verifyPassword('正确的马 battery stapl', h)).toBe(false);
    expect(await hashPassword('正确的马 battery staple')).not.toBe(h);
    expect(await verifyPassword('x', 'md5$abc')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$40$8$1$AAAA$AAAA')).toBe(false);
  });

  it('GIVEN a chosen password THEN fewer than 12 characters is refused with the range', () => {
    expect(passwordProblem('short')).toEqual({ key: 'auth.weakPassword', params: { min: '12', max: '1024' } });
    expect(passwordProblem('十二个汉字十二个汉字十二')).toBeUndefined();
  });

  it('GIVEN a session THEN it ends when idle for the timeout or at its lifetime, whichever comes first', () => {
    const s = { tokenHash: 'h', operatorId: 'op', certificateSerial: 'ab', remote: '', createdAt: T0.toISOString(), lastUsedAt: at(30_000).toISOString(), expiresAt: at(3_600_000).toISOString(), endedAt: null, endReason: null };
    expect(sessionEnd(s, at(89_999), POLICY)).toBeUndefined();
    expect(sessionEnd(s, at(90_000), POLICY)).toBe('idle');
    expect(sessionEnd({ ...s, lastUsedAt: at(3_599_000).toISOString() }, at(3_600_000), POLICY)).toBe('lifetime');
  });
});

const backends = stateBackends('jinbao-auth-');

describe.each(backends)('logins, locks and sessions in the store on $name', ({ skip, open }) => {
  let db: Database;
  let state: StateAccess;
  let caller: Caller;
  const operator: Operator = { id: 'op-0000000001', staffNumber: '100666', name: '孙丽', role: 'dr-coordinator', scope: null, status: 'active', certificateSerial: 'ab12', caId: 'ministry-staff', notAfter: '2027-12-01T00:00:00.000Z', createdAt: T0.toISOString(), updatedAt: T0.toISOString() };

  beforeEach(async () => {
    if (skip) return;
    db = await open();
    state = { stateDir: '', hasStore: () => true, database: async () => db };
    await migrateOperators(db);
    await db.write((tx) => insertOperator(tx, operator));
    await setOperatorPassword(state, operator.id, { password: 'the right password', actor: 'officer', now: T0 });
    caller = { operator, certificateSerial: 'ab12', actor: `operator:${operator.id} dr-coordinator (CN=孙丽, certificate ab12)`, remote: '192.0.2.7', command: 'drill list' };
  });

  it.skipIf(skip)('GIVEN wrong passwords THEN each is counted and audited; at the limit the operator is locked, refused with the right password, until unlocked', async () => {
    const first = await authenticate(state, caller, { password: 'nope' }, POLICY, explain, { now: at(1) });
    expect(first).toEqual({ ok: false, status: 401, reason: { key: 'auth.wrongPassword', params: { id: operator.id, left: '2' } } });
    await authenticate(state, caller, { password: 'nope' }, POLICY, explain, { now: at(2) });
    const third = await authenticate(state, caller, { password: 'nope' }, POLICY, explain, { now: at(3) });
    expect(third).toMatchObject({ ok: false, status: 403, reason: { key: 'auth.nowLocked', params: { failed: '3' } } });
    expect(await readCredential(db, operator.id)).toMatchObject({ failedLogins: 3, lockedAt: at(3).toISOString() });
    expect(await authenticate(state, caller, { password: 'the right password' }, POLICY, explain, { now: at(4) })).toMatchObject({ ok: false, status: 403, reason: { key: 'auth.locked' } });

    const entries = await readAudit(db);
    expect(entries.filter((e) => e.action === 'serve.auth').map((e) => [e.outcome, e.details.failedLogins])).toEqual([['refused', 1], ['refused', 2], ['refused', 3], ['refused', undefined]]);
    expect(entries.find((e) => e.action === 'operator.lock')).toMatchObject({ outcome: 'ok', subject: operator.id, actor: caller.actor, details: { remote: '192.0.2.7', failedLogins: 3, command: 'drill list' } });

    const unlocked = await unlockOperator(state, operator.id, { actor: 'security', now: at(5) });
    expect(unlocked).toMatchObject({ failedLogins: 3, lockedAt: at(3).toISOString() });
    expect(await authenticate(state, caller, { password: 'the right password' }, POLICY, explain, { now: at(6) })).toEqual({ ok: true, via: 'password' });
    await expect(unlockOperator(state, operator.id, { actor: 'security' })).rejects.toThrow(`operator ${operator.id} is not locked (0 failed login(s) counted): nothing to unlock`);
    expect((await readAudit(db, { action: 'operator.unlock' })).map((e) => e.outcome)).toEqual(['ok', 'refused']);
    expect((await verifyAudit(db)).ok).toBe(true);
  });

  it.skipIf(skip)('GIVEN concurrent wrong passwords THEN every one is counted (the count is read again under the lock)', async () => {
    await Promise.all([1, 2, 3, 4].map((n) => authenticate(state, caller, { password: `wrong ${n}` }, POLICY, explain, { now: at(n) })));
    expect(await readCredential(db, operator.id)).toMatchObject({ failedLogins: 3 });
    expect((await readAudit(db, { action: 'operator.lock' })).length).toBe(1);
  });

  it.skipIf(skip)('GIVEN a session THEN it admits its certificate until idle, a use keeps it alive, and the expiry is audited once', async () => {
    const opened = await login(state, caller, 'the right password', POLICY, explain, { now: T0 });
    if (!opened.ok) throw new Error('login refused');
    const token = opened.session.token;
    expect(opened.session).toMatchObject({ expiresAt: at(3_600_000).toISOString(), idleTimeoutSeconds: 60 });
    expect(await authenticate(state, caller, { session: token }, POLICY, explain, { now: at(59_000) })).toEqual({ ok: true, via: 'session' });
    expect(await authenticate(state, caller, { session: token }, POLICY, explain, { now: at(118_000) })).toEqual({ ok: true, via: 'session' });
    expect(await authenticate(state, { ...caller, certificateSerial: 'cd34' }, { session: token }, POLICY, explain, { now: at(119_000) })).toMatchObject({ ok: false, reason: { key: 'auth.unknownSession' } });
    expect(await authenticate(state, caller, { session: token }, POLICY, explain, { now: at(178_000) })).toMatchObject({ ok: false, status: 401, reason: { key: 'auth.sessionExpired', params: { why: 'idle' } } });
    expect(await authenticate(state, caller, { session: token }, POLICY, explain, { now: at(179_000) })).toMatchObject({ ok: false, reason: { key: 'auth.sessionEnded', params: { why: 'idle' } } });
    const expiries = await readAudit(db, { action: 'serve.session.expire' });
    expect(expiries).toHaveLength(1);
    expect(expiries[0]!.details).toMatchObject({ why: 'idle', remote: '192.0.2.7' });
    expect(await logout(state, caller, token, explain, { now: at(180_000) })).toMatchObject({ ok: false, reason: { key: 'auth.noOpenSession' } });
  });

  it.skipIf(skip)('GIVEN a session used steadily THEN it still ends at its lifetime; logout ends another at once', async () => {
    const long = await login(state, caller, 'the right password', POLICY, explain, { now: T0 });
    if (!long.ok) throw new Error('login refused');
    for (let t = 50_000; t < 3_600_000; t += 50_000) expect((await authenticate(state, caller, { session: long.session.token }, POLICY, explain, { now: at(t) })).ok).toBe(true);
    expect(await authenticate(state, caller, { session: long.session.token }, POLICY, explain, { now: at(3_600_000) })).toMatchObject({ ok: false, reason: { key: 'auth.sessionExpired', params: { why: 'lifetime' } } });
    const short = await login(state, caller, 'the right password', POLICY, explain, { now: at(3_600_001) });
    if (!short.ok) throw new Error('login refused');
    expect(await logout(state, caller, short.session.token, explain, { now: at(3_600_002) })).toEqual({ ok: true });
    expect(await authenticate(state, caller, { session: short.session.token }, POLICY, explain, { now: at(3_600_003) })).toMatchObject({ ok: false, reason: { key: 'auth.sessionEnded', params: { why: 'logout' } } });
    expect((await readAudit(db, { action: 'serve.logout' })).map((e) => e.outcome)).toEqual(['ok']);
  });

  it.skipIf(skip)('GIVEN a wrong password at login THEN no session is opened, and the lock ends sessions already open', async () => {
    const open = await login(state, caller, 'the right password', POLICY, explain, { now: T0 });
    if (!open.ok) throw new Error('login refused');
    for (const n of [1, 2]) expect(await login(state, caller, 'wrong', POLICY, explain, { now: at(n) })).toMatchObject({ ok: false, reason: { key: 'auth.wrongPassword' } });
    expect(await login(state, caller, 'wrong', POLICY, explain, { now: at(3) })).toMatchObject({ ok: false, reason: { key: 'auth.nowLocked' } });
    expect((await readAudit(db, { action: 'serve.session.open' })).length).toBe(1);
    await unlockOperator(state, operator.id, { now: at(4) });
    expect(await authenticate(state, caller, { session: open.session.token }, POLICY, explain, { now: at(5) })).toMatchObject({ ok: false, reason: { key: 'auth.sessionEnded', params: { why: 'locked' } } });
  });

  it.skipIf(skip)('GIVEN an operator without a password, or no second factor THEN refused and audited; a weak chosen password is refused and nothing changes', async () => {
    expect(await authenticate(state, caller, {}, POLICY, explain, { now: at(1) })).toMatchObject({ ok: false, status: 401, reason: { key: 'auth.passwordRequired' } });
    const bare: Operator = { ...operator, id: 'op-0000000002', certificateSerial: 'ef56' };
    await db.write((tx) => insertOperator(tx, bare));
    const none = await authenticate(state, { ...caller, operator: bare, certificateSerial: 'ef56' }, { password: 'anything at all' }, POLICY, explain);
    expect(none).toMatchObject({ ok: false, status: 401, reason: { key: 'auth.noPassword' } });
    expect(explain((none as { reason: Conflict }).reason)).toBe('operator op-0000000002 has no password for the service yet (the second factor beside the certificate): a security administrator sets one with jinbao operator password op-0000000002');
    expect((await readAudit(db, { action: 'serve.auth' })).map((e) => [e.subject, e.outcome])).toEqual([[operator.id, 'refused'], ['op-0000000002', 'refused']]);
    const before = (await readCredential(db, operator.id))!.passwordHash;
    await expect(setOperatorPassword(state, operator.id, { password: 'short', actor: 'security' })).rejects.toThrow('the password must have 12 to 1024 characters');
    expect((await readCredential(db, operator.id))!.passwordHash).toBe(before);
    const generated = await setOperatorPassword(state, operator.id, { actor: 'security' });
    expect(generated.generated).toBe(true);
    expect(generated.password).toMatch(/^[\w-]{20}$/);
    expect(await authenticate(state, caller, { password: generated.password }, POLICY, explain)).toEqual({ ok: true, via: 'password' });
    expect((await readAudit(db, { action: 'operator.password' })).map((e) => [e.outcome, JSON.stringify(e.details).includes(generated.password)])).toEqual([['ok', false], ['refused', false], ['ok', false]]);
  });
});
