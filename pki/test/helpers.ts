import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateInventory, type Fabric } from '../../fabric/index.js';
import { smallInventory } from '../../testkit/index.js';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { postgresMissing, type PostgresServer } from '../../lib/test/postgres-server.js';
import { initHierarchy, Issuer, PkiStore, toPem, type CaAlgorithm } from '../index.js';

export const PASS = 'correct horse battery staple';
export const DISTID = 'distid:1234567812345678';

/** The small test inventory: ministry 000000, provinces 110000 and 440000, prefectures 440100 and 440300. */
export function smallFabric(): Fabric {
  const r = validateInventory(smallInventory(), 'small');
  if (!r.fabric) throw new Error(`test inventory invalid: ${JSON.stringify(r.problems)}`);
  return r.fabric;
}

export function inventoryFile(dir: string): string {
  const file = join(dir, 'inventory.json');
  writeFileSync(file, JSON.stringify(smallInventory()));
  return file;
}

export function openssl(args: readonly string[], input?: Buffer | string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mustOpenssl(args: readonly string[]): string {
  const r = openssl(args);
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

export type KeyKind = 'p256' | 'p384' | 'sm2' | 'rsa2048' | 'rsa1024' | 'p521' | 'secp256k1';

/** A private key made by OpenSSL (the subscriber's own tool). */
export function opensslKey(dir: string, name: string, kind: KeyKind): string {
  const file = join(dir, `${name}.key`);
  const opts: Record<KeyKind, string[]> = {
    p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    p521: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'],
    secp256k1: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'],
    sm2: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'],
    rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  };
  mustOpenssl(['genpkey', ...opts[kind], '-out', file]);
  return file;
}

/** A CSR made by OpenSSL; SM2 keys sign with SM3 and the explicit distinguishing ID. */
export function opensslCsr(dir: string, key: string, subj: string, opts: { sm2?: boolean; addext?: readonly string[]; name?: string } = {}): Buffer {
  const file = join(dir, `${opts.name ?? 'req'}.csr`);
  const args = ['req', '-new', '-utf8', '-key', key, '-subj', subj, '-outform', 'DER', '-out', file];
  if (opts.sm2) args.push('-sm3', '-sigopt', DISTID);
  for (const e of opts.addext ?? []) args.push('-addext', e);
  mustOpenssl(args);
  return readFileSync(file);
}

export interface TestPki {
  readonly dir: string;
  /** The SQLite state directory (`dir`/state), also when the store is on PostgreSQL. */
  readonly stateDir: string;
  readonly db: Database;
  readonly pki: PkiStore;
  readonly fabric: Fabric;
  readonly issuer: Issuer;
  cleanup(): Promise<void>;
}

/** A hierarchy in a fresh store: SQLite in `dir`/state, or the PostgreSQL database `target` names. */
export async function testPki(algorithm: CaAlgorithm = 'ecdsa-p256', fabric: Fabric = smallFabric(), opts: { target?: string } = {}): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-pki-'));
  const stateDir = join(dir, 'state');
  const db = await openDatabase(opts.target ?? stateDir);
  const pki = await PkiStore.open(db, stateDir);
  await initHierarchy(pki, { algorithm, passphrase: PASS });
  return {
    dir,
    stateDir,
    db,
    pki,
    fabric,
    issuer: new Issuer(pki, fabric, PASS),
    cleanup: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `openssl verify` of a leaf against its chain (issuing CA first, root last). For SM2, OpenSSL 3.0
 * applies `-vfyopt distid` only to the certificate being verified, not to intermediates in a chain,
 * so each link is verified on its own with the issuer as a partial-chain trust anchor.
 */
export function verifyWithOpenssl(dir: string, algorithm: CaAlgorithm, leafDer: Uint8Array, chainDer: readonly Uint8Array[], purpose?: string): { code: number; output: string } {
  const write = (name: string, der: Uint8Array) => {
    const f = join(dir, name);
    writeFileSync(f, toPem(der));
    return f;
  };
  const leaf = write('leaf.pem', leafDer);
  const inter = write('inter.pem', chainDer[0]!);
  const root = write('root.pem', chainDer[chainDer.length - 1]!);
  const p = purpose ? ['-purpose', purpose] : [];
  if (algorithm !== 'sm2') {
    const r = openssl(['verify', ...p, '-CAfile', root, '-untrusted', inter, leaf]);
    return { code: r.code, output: r.stdout + r.stderr };
  }
  const a = openssl(['verify', '-vfyopt', DISTID, ...p, '-partial_chain', '-CAfile', inter, leaf]);
  const b = openssl(['verify', '-vfyopt', DISTID, '-CAfile', root, inter]);
  return { code: a.code || b.code, output: a.stdout + a.stderr + b.stdout + b.stderr };
}

export async function countRows(db: Database): Promise<{ certificates: number; cas: number; audit: number }> {
  const one = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
  return { certificates: await one('SELECT COUNT(*) AS n FROM pki_certificates'), cas: await one('SELECT COUNT(*) AS n FROM pki_cas'), audit: await one('SELECT COUNT(*) AS n FROM audit_log') };
}

export async function lastAudit(db: Database): Promise<{ action: string; outcome: string; details: string }> {
  return (await db.query<{ action: string; outcome: string; details: string }>('SELECT action, outcome, details FROM audit_log ORDER BY seq DESC LIMIT 1'))[0]!;
}

/**
 * The backends a store test runs on: SQLite always, PostgreSQL when the server tools are here.
 * `fresh()` gives a new empty store's target (a directory, or a database on the file's server).
 */
export function stateBackends(server: () => PostgresServer | undefined): { name: string; skip: boolean; fresh: () => Promise<string | undefined> }[] {
  let n = 0;
  return [
    { name: 'SQLite', skip: false, fresh: async () => undefined },
    {
      name: 'PostgreSQL',
      skip: postgresMissing() !== undefined,
      fresh: async () => {
        const name = `pki_${process.pid}_${++n}`;
        await server()!.sql(`CREATE DATABASE ${name}`);
        return server()!.url({ dbname: name, sslmode: 'disable' });
      },
    },
  ];
}
