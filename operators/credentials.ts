import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Conflict } from './model.js';

/**
 * The operator's second factor, pure: a password (knowledge) beside the operator certificate
 * (possession, cryptographic) — MLPS 8.1.4.1 d). Only a slow hash is kept: scrypt from node:crypto,
 * its parameters stored with each hash so they can be raised later without invalidating old ones.
 * Sessions are random tokens; the store keeps their SHA-256, never the token.
 */

/** scrypt cost: N = 2^16 (64 MiB, about 0.4 s on one core here), r = 8, p = 1, 32-byte key, 16-byte salt. */
const SCRYPT = { logN: 16, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;

const MIN_LENGTH = 12;
const MAX_LENGTH = 1024;

function derive(password: string, salt: Buffer, logN: number, r: number, p: number, keyLength: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyLength, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$<log2 N>$<r>$<p>$<salt>$<key>` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const key = await derive(password, salt, SCRYPT.logN, SCRYPT.r, SCRYPT.p, SCRYPT.keyLength);
  return ['scrypt', SCRYPT.logN, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches `stored` (constant-time comparison); false for a hash this build cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 22) return false;
  const want = Buffer.from(parts[5]!, 'base64url');
  if (password.length > MAX_LENGTH || want.length < 16) return false;
  const got = await derive(password, Buffer.from(parts[4]!, 'base64url'), logN, r, p, want.length);
  return timingSafeEqual(got, want);
}

/** Why a chosen password is refused (length only: the second factor is the certificate), else undefined. */
export function passwordProblem(password: string): Conflict | undefined {
  if ([...password].length < MIN_LENGTH || password.length > MAX_LENGTH) return { key: 'auth.weakPassword', params: { min: String(MIN_LENGTH), max: String(MAX_LENGTH) } };
  return undefined;
}

/** A password for the operator to change: 20 characters from 120 random bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** A session token: 256 random bits, prefixed so a leaked one is recognisable. */
export function newSessionToken(): string {
  return `jbs_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** How the service treats logins and sessions (`serve --max-failed-logins`, `--session-timeout`, `--session-lifetime`). */
export interface AuthPolicy {
  /** Consecutive wrong passwords that lock the operator. @default 5 */
  readonly maxFailedLogins: number;
  /** A session unused this long has ended. @default 15 minutes */
  readonly sessionIdleMs: number;
  /** A session ends this long after login, used or not. @default 8 hours */
  readonly sessionLifetimeMs: number;
}

export const DEFAULT_AUTH_POLICY: AuthPolicy = { maxFailedLogins: 5, sessionIdleMs: 15 * 60_000, sessionLifetimeMs: 8 * 3_600_000 };

export interface SessionRecord {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly certificateSerial: string;
  readonly remote: string;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  readonly expiresAt: string;
  readonly endedAt: string | null;
  /** logout, idle, lifetime, unlock. */
  readonly endReason: string | null;
}

/** Why a session in the store no longer admits its holder at `now` (idle or past its lifetime), else undefined. */
export function sessionEnd(s: SessionRecord, now: Date, policy: AuthPolicy): 'idle' | 'lifetime' | undefined {
  if (now.getTime() >= Date.parse(s.expiresAt)) return 'lifetime';
  if (now.getTime() - Date.parse(s.lastUsedAt) >= policy.sessionIdleMs) return 'idle';
  return undefined;
}
