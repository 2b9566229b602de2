import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * Secrets the service must read back in clear — ACME External Account Binding HMAC keys and CMP
 * one-time secrets (both are MAC keys the server recomputes, so a one-way hash could not check
 * them) — are kept in the state encrypted under a key derived from the CA passphrase: scrypt
 * once per purpose and process, then HKDF with a random salt per secret, AES-256-GCM with the
 * secret's public name (key id, reference) as associated data, so a row cannot be moved to
 * another name. The state store alone does not reveal them.
 */

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
/** scrypt cost: 32 MB, about 0.1 s on this class of machine; paid once per purpose and process. */
export const SECRET_BOX_KDF = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/** One sealed secret, as its four columns in the state. */
export interface SealedSecret {
  readonly salt: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** What a keyring is for: the scrypt salt and the HKDF info, fixed per purpose (changing them loses every sealed secret). */
export interface KeyringPurpose {
  readonly kdfSalt: string;
  readonly info: string;
}

const opened = new Map<string, Promise<Buffer>>();

export class SecretKeyring {
  private constructor(
    private readonly master: Buffer,
    private readonly purpose: KeyringPurpose,
  ) {}

  /** The keyring of one purpose; the scrypt derivation is done once per process for a passphrase and purpose. */
  static async open(passphrase: string, purpose: KeyringPurpose): Promise<SecretKeyring> {
    const id = createHash('sha256').update(purpose.kdfSalt).update('\0').update(passphrase).digest('hex');
    let master = opened.get(id);
    if (!master) {
      master = scryptAsync(passphrase, Buffer.from(purpose.kdfSalt), 32, SECRET_BOX_KDF);
      opened.set(id, master);
      master.catch(() => opened.delete(id));
    }
    return new SecretKeyring(await master, purpose);
  }

  private key(salt: Uint8Array): Buffer {
    return Buffer.from(hkdfSync('sha256', this.master, salt, this.purpose.info, 32));
  }

  /** Seal `secret` under this keyring, bound to `name` (its key id or reference). */
  seal(name: string, secret: Buffer): { salt: Buffer; iv: Buffer; ciphertext: Buffer; tag: Buffer } {
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key(salt), iv);
    cipher.setAAD(Buffer.from(name));
    const ciphertext = Buffer.concat([cipher.update(secret), cipher.final()]);
    return { salt, iv, ciphertext, tag: cipher.getAuthTag() };
  }

  /** The secret in clear, or undefined when it does not open (another passphrase, another name, an altered row). */
  open(name: string, sealed: SealedSecret): Buffer | undefined {
    return openGcm(this.key(sealed.salt), name, sealed);
  }
}

/**
 * Sealed by jinbao versions before the keyring, with scrypt over each secret's own salt (EAB keys).
 * Read only, so that keys handed out before an upgrade still work until they expire.
 */
export async function openWithPassphrase(passphrase: string, name: string, sealed: SealedSecret): Promise<Buffer | undefined> {
  return openGcm(await scryptAsync(passphrase, Buffer.from(sealed.salt), 32, SECRET_BOX_KDF), name, sealed);
}

function openGcm(key: Buffer, name: string, sealed: SealedSecret): Buffer | undefined {
  try {
    const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv));
    d.setAAD(Buffer.from(name));
    d.setAuthTag(Buffer.from(sealed.tag));
    return Buffer.concat([d.update(Buffer.from(sealed.ciphertext)), d.final()]);
  } catch {
    return undefined;
  }
}
