import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { StateStore } from '../lib/state.js';
import { InputError } from '../lib/errors.js';

/** A WireGuard key pair, both halves in WireGuard's base64 form (32 raw bytes). */
export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** A node's keys as kept in the state store. `privateKey` is absent for a node whose key is held elsewhere. */
export interface NodeKeys {
  readonly node: string;
  readonly publicKey: string;
  readonly privateKey?: string;
  readonly generation: number;
}

const B64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * Parse a WireGuard key: base64 of exactly 32 bytes, not the all-zero (low-order) point.
 * `what` names where the key came from, for the message.
 */
export function parseKey(text: string, what: string): Buffer {
  const trimmed = text.trim();
  if (!B64_KEY.test(trimmed)) {
    throw new InputError(
      `${what}: "${trimmed.length > 60 ? `${trimmed.slice(0, 57)}...` : trimmed}" is not a WireGuard key; want 44 characters of base64 encoding 32 bytes (as printed by "wg genkey" / "wg pubkey")`,
    );
  }
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.every((b) => b === 0)) throw new InputError(`${what}: the all-zero key is not a usable X25519 key; generate one with "wg genkey"`);
  return raw;
}

/**
 * X25519 keys go through DER, never JWK: on Node 20, exporting an OKP key as JWK holds a lock
 * while allocating, and a garbage collection that frees a finished key-generation job at that
 * moment deadlocks the process (seen when generating the nation's ~3,400 keys).
 */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** A fresh X25519 key pair from node:crypto. */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519', {
    privateKeyEncoding: { format: 'der', type: 'pkcs8' },
    publicKeyEncoding: { format: 'der', type: 'spki' },
  });
  return { privateKey: privateKey.subarray(-32).toString('base64'), publicKey: publicKey.subarray(-32).toString('base64') };
}

/** The public half of a base64 private key. */
export function publicKeyOf(privateKey: string): string {
  const raw = parseKey(privateKey, 'private key');
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  return (createPublicKey(key).export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64');
}

const MIGRATIONS = [
  {
    description: 'WAN node keys',
    up: `CREATE TABLE wan_keys (
      node TEXT PRIMARY KEY,
      public_key TEXT NOT NULL,
      private_key TEXT,
      generation INTEGER NOT NULL,
      created_at TEXT NOT NULL
    )`,
  },
  {
    description: 'WAN lab check results',
    up: `CREATE TABLE wan_checks (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      checked_at TEXT NOT NULL,
      result TEXT NOT NULL
    )`,
  },
];

/** Apply the WAN component's migrations. */
export function migrateWan(store: StateStore): void {
  store.migrate('wan', MIGRATIONS);
}

/** Node keys in the state store: generated on first use, kept across runs, rotated on demand. */
export class KeyStore {
  constructor(private readonly store: StateStore) {
    migrateWan(store);
  }

  all(): Map<string, NodeKeys> {
    const rows = this.store.db.prepare('SELECT node, public_key, private_key, generation FROM wan_keys').all() as {
      node: string;
      public_key: string;
      private_key: string | null;
      generation: number;
    }[];
    return new Map(rows.map((r) => [r.node, { node: r.node, publicKey: r.public_key, ...(r.private_key ? { privateKey: r.private_key } : {}), generation: r.generation }]));
  }

  /** Keys for every node in `nodes`, generating (and recording) the missing ones in one transaction. */
  ensure(nodes: readonly string[], generate: () => KeyPair = generateKeyPair): Map<string, NodeKeys> {
    const have = this.all();
    const missing = nodes.filter((n) => !have.has(n));
    if (missing.length === 0) return have;
    const insert = this.store.db.prepare('INSERT INTO wan_keys (node, public_key, private_key, generation, created_at) VALUES (?, ?, ?, 1, ?)');
    const now = new Date().toISOString();
    this.store.write(() => {
      for (const node of missing) {
        const k = generate();
        insert.run(node, k.publicKey, k.privateKey, now);
        have.set(node, { node, publicKey: k.publicKey, privateKey: k.privateKey, generation: 1 });
      }
    });
    return have;
  }

  /** Replace `node`'s key pair with a fresh one; returns the new keys. */
  rotate(node: string, generate: () => KeyPair = generateKeyPair): NodeKeys {
    const k = generate();
    return this.put(node, k.publicKey, k.privateKey);
  }

  /** Record a public key for a node whose private key is held elsewhere (validated first). */
  importPublic(node: string, publicKey: string): NodeKeys {
    parseKey(publicKey, `public key for node ${node}`);
    return this.put(node, publicKey.trim(), undefined);
  }

  private put(node: string, publicKey: string, privateKey: string | undefined): NodeKeys {
    const now = new Date().toISOString();
    return this.store.write(() => {
      const row = this.store.db.prepare('SELECT generation FROM wan_keys WHERE node = ?').get(node) as { generation: number } | undefined;
      const generation = (row?.generation ?? 0) + 1;
      this.store.db
        .prepare(
          `INSERT INTO wan_keys (node, public_key, private_key, generation, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(node) DO UPDATE SET public_key = excluded.public_key, private_key = excluded.private_key,
             generation = excluded.generation, created_at = excluded.created_at`,
        )
        .run(node, publicKey, privateKey ?? null, generation, now);
      return { node, publicKey, ...(privateKey ? { privateKey } : {}), generation };
    });
  }
}
