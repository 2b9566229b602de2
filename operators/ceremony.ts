import { createHash, randomBytes } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { inputError } from '../lib/i18n/index.js';
import { OPERATORS_MESSAGES } from './messages.js';

/**
 * The key ceremony: the CA passphrase split with Shamir's secret sharing into N shares for N
 * custodians, any M of which open the CA keys; fewer reveal nothing about it. The scheme is
 * `shamir-secret-sharing` (independently audited, zero dependencies), not code of ours.
 *
 * What the state keeps of a ceremony: its id, N, M and a SHA-256 of each share — enough to tell a
 * custodian's share from a corrupted or foreign one, and a second submission of the same share,
 * without holding anything that helps to rebuild the passphrase.
 */

export interface Ceremony {
  readonly id: string;
  readonly shares: number;
  readonly threshold: number;
  /** SHA-256 (hex) of each share's bytes, by share number (1-based: index 0 is share 1). */
  readonly shareHashes: readonly string[];
  readonly createdAt: string;
}

export interface Share {
  readonly ceremony: string;
  /** 1-based. */
  readonly number: number;
  readonly bytes: Uint8Array;
}

const PREFIX = 'jinbao-share-v1';

export const shareHash = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export function checkCeremonyCounts(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < 2 || shares > 255) throw inputError(OPERATORS_MESSAGES, 'ceremony.badShares', { shares: String(shares) });
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > shares) throw inputError(OPERATORS_MESSAGES, 'ceremony.badThreshold', { threshold: String(threshold), shares: String(shares) });
}

/** Split `secret` into `shares` shares of which `threshold` rebuild it. */
export async function splitSecret(secret: string, shares: number, threshold: number, now = new Date()): Promise<{ ceremony: Ceremony; shares: Share[] }> {
  checkCeremonyCounts(shares, threshold);
  const id = `cer-${randomBytes(5).toString('hex')}`;
  const parts = await split(new TextEncoder().encode(secret), shares, threshold);
  return {
    ceremony: { id, shares, threshold, shareHashes: parts.map(shareHash), createdAt: now.toISOString() },
    shares: parts.map((bytes, i) => ({ ceremony: id, number: i + 1, bytes })),
  };
}

/** A share as its custodian keeps it: one line (comments above it are for people). */
export function formatShare(s: Share, total: number, threshold: number): string {
  return (
    `# jinbao CA passphrase share ${s.number} of ${total} (any ${threshold} open the CA keys) — ceremony ${s.ceremony}\n` +
    `# jinbao CA 密钥口令分片 第 ${s.number} 片，共 ${total} 片（任意 ${threshold} 片可解封）— 仪式 ${s.ceremony}\n` +
    `${PREFIX}:${s.ceremony}:${s.number}:${Buffer.from(s.bytes).toString('base64url')}\n`
  );
}

/** Read a share's text (comment lines allowed); a malformed one is refused saying what is wrong. */
export function parseShare(text: string): Share {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  const m = line === undefined ? null : /^jinbao-share-v1:(cer-[0-9a-f]{10}):(\d{1,3}):([A-Za-z0-9_-]+)$/.exec(line);
  if (!m) throw inputError(OPERATORS_MESSAGES, 'ceremony.malformedShare');
  return { ceremony: m[1]!, number: Number(m[2]), bytes: Buffer.from(m[3]!, 'base64url') };
}

/** Rebuild the secret from shares already checked against the ceremony. */
export async function combineShares(shares: readonly Share[]): Promise<string> {
  // the scheme wants plain Uint8Arrays (a Buffer is refused)
  return new TextDecoder().decode(await combine(shares.map((s) => Uint8Array.from(s.bytes))));
}

/**
 * Collects custodians' shares until the threshold: each share must belong to the ceremony (its
 * hash recorded at split time; a corrupted share fails here) and come once. The caller opens the
 * CA keys with what `submit` returns at the threshold, and calls `reset` when they do not open.
 */
export class ShareCollector {
  private readonly received = new Map<number, Share>();

  constructor(readonly ceremony: Ceremony) {}

  get submitted(): number {
    return this.received.size;
  }

  /** The rebuilt secret once `threshold` shares are in; undefined before. */
  async submit(s: Share): Promise<string | undefined> {
    const c = this.ceremony;
    if (s.ceremony !== c.id) throw inputError(OPERATORS_MESSAGES, 'ceremony.foreignShare', { got: s.ceremony, want: c.id });
    if (s.number < 1 || s.number > c.shares || c.shareHashes[s.number - 1] !== shareHash(s.bytes)) throw inputError(OPERATORS_MESSAGES, 'ceremony.corruptShare', { number: String(s.number), ceremony: c.id });
    if (this.received.has(s.number)) throw inputError(OPERATORS_MESSAGES, 'ceremony.duplicateShare', { number: String(s.number), submitted: String(this.received.size), threshold: String(c.threshold) });
    this.received.set(s.number, s);
    if (this.received.size < c.threshold) return undefined;
    return combineShares([...this.received.values()]);
  }

  reset(): void {
    this.received.clear();
  }
}
