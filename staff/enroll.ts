import { createPublicKey, generateKeyPairSync, randomInt, sign, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Fabric } from '../fabric/index.js';
import { buildPkcs12, Issuer, type Delivery, type Issued, type PkiStore } from '../pki/index.js';
import type { RosterEntry } from './roster.js';
import { inputError } from '../lib/i18n/index.js';
import { STAFF_MESSAGES } from './messages.js';
import { makeDirs } from '../lib/dirs.js';

/**
 * Centrally generated staff certificates: a P-256 key made here, a PKCS#10 request signed with it
 * (so the one issuance pipeline checks proof of possession as for any holder), the staff-auth
 * certificate, and a PKCS#12 bundle with a random password. Bundles go to OUT/bundles/NUMBER.p12,
 * the password to a separate handout file OUT/handouts/NUMBER.txt, so the two can travel apart.
 *
 * Crash safety: both files are written under staging names carrying the certificate's serial
 * (NUMBER.p12.partial-SERIAL) before the certificate is recorded, and renamed after the commit.
 * `recoverStaged` runs first on every enrollment: a staged pair whose serial is recorded is
 * finished (renamed); one whose serial is not recorded is removed (the issuance never committed,
 * the person is enrolled again). A person with a recorded certificate is never issued again.
 */

export const STAFF_ENROLL_PROFILE = 'staff-auth';

const der = {
  tlv(tag: number, content: Buffer): Buffer {
    const n = content.length;
    const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
    return Buffer.concat([Buffer.from([tag]), len, content]);
  },
  seq: (...c: Buffer[]) => der.tlv(0x30, Buffer.concat(c)),
  set: (...c: Buffer[]) => der.tlv(0x31, Buffer.concat(c)),
  oid(o: string): Buffer {
    const p = o.split('.').map(Number);
    const bytes = [p[0]! * 40 + p[1]!];
    for (const v of p.slice(2)) {
      const chunk = [v & 0x7f];
      for (let x = v >> 7; x > 0; x >>= 7) chunk.unshift((x & 0x7f) | 0x80);
      bytes.push(...chunk);
    }
    return der.tlv(0x06, Buffer.from(bytes));
  },
};

/** A PKCS#10 request: subject serialNumber (the staff number) and CN (the name), signed with `key`. */
export function staffCsr(key: KeyObject, staffNumber: string, name: string): Buffer {
  const subject = der.seq(der.set(der.seq(der.oid('2.5.4.5'), der.tlv(0x13, Buffer.from(staffNumber)))), der.set(der.seq(der.oid('2.5.4.3'), der.tlv(0x0c, Buffer.from(name, 'utf8')))));
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = der.seq(der.tlv(0x02, Buffer.from([0])), subject, spki, der.tlv(0xa0, Buffer.alloc(0)));
  const signature = sign('sha256', info, key);
  return der.seq(info, der.seq(der.oid('1.2.840.10045.4.3.2')), der.tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** 20 characters from an alphabet without look-alikes (0/O, 1/l/I): about 116 bits, typed from paper. */
export function handoutPassword(): string {
  return Array.from({ length: 20 }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
}

export const bundleFile = (out: string, staffNumber: string) => join(resolve(out), 'bundles', `${staffNumber}.p12`);
export const handoutFile = (out: string, staffNumber: string) => join(resolve(out), 'handouts', `${staffNumber}.txt`);

function handoutText(site: string, p: RosterEntry, serial: string, password: string): string {
  return [
    `jinbao staff certificate / 工作人员数字证书`,
    `site / 站点: ${site}`,
    `staff number / 工号: ${p.staffNumber}`,
    `name / 姓名: ${p.name}`,
    `certificate serial / 证书序列号: ${serial}`,
    `bundle / 证书文件: bundles/${p.staffNumber}.p12`,
    `password / 口令: ${password}`,
    '',
    'Hand this sheet to the holder separately from the bundle. / 本页与证书文件分开交给持有人。',
    '',
  ].join('\n');
}

/** The delivery of one enrollment: bundle and handout staged under the serial, renamed after the commit. */
function bundleDelivery(out: string, site: string, p: RosterEntry, keyPem: string, password: string): Delivery {
  const files = { p12: bundleFile(out, p.staffNumber), handout: handoutFile(out, p.staffNumber) };
  return {
    check() {
      for (const f of Object.values(files)) {
        try {
          makeDirs(resolve(f, '..'));
        } catch (err) {
          throw inputError(STAFF_MESSAGES, 'out.create', { dir: resolve(f, '..'), why: String((err as NodeJS.ErrnoException).code) }, { cause: err });
        }
      }
    },
    stage(issued: Issued) {
      const serial = issued.record.serial;
      const p12 = buildPkcs12({ privateKeyPem: keyPem, certificates: [issued.certificateDer, ...issued.chainDer], password, friendlyName: `${p.name} (${p.staffNumber})` });
      const staged = [
        { from: `${files.p12}.partial-${serial}`, to: files.p12, data: p12 },
        { from: `${files.handout}.partial-${serial}`, to: files.handout, data: handoutText(site, p, serial, password) },
      ];
      const written: string[] = [];
      try {
        for (const s of staged) {
          writeFileSync(s.from, s.data, { mode: 0o600, flag: 'wx' });
          written.push(s.from);
        }
      } catch (err) {
        for (const f of written) rmSync(f, { force: true });
        throw inputError(STAFF_MESSAGES, 'out.write', { file: staged[written.length]!.from, why: String((err as NodeJS.ErrnoException).code) }, { cause: err });
      }
      return {
        commit() {
          for (const s of staged) renameSync(s.from, s.to);
          return { p12: files.p12, handout: files.handout };
        },
        discard() {
          for (const s of staged) rmSync(s.from, { force: true });
        },
      };
    },
  };
}

/**
 * Finish or remove what an interrupted enrollment left staged in `out`: pairs whose certificate is
 * recorded are renamed to their final names, the others removed. Returns the staff numbers of each.
 */
export async function recoverStaged(pki: PkiStore, out: string): Promise<{ finished: string[]; removed: string[] }> {
  const finished = new Set<string>();
  const removed = new Set<string>();
  for (const sub of ['bundles', 'handouts']) {
    const dir = join(resolve(out), sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const m = /^(.+)\.(p12|txt)\.partial-([0-9a-f]+)$/.exec(name);
      if (!m) continue;
      const [, staffNumber, , serial] = m as unknown as [string, string, string, string];
      const cert = await pki.findCertificate(serial);
      if (cert && cert.staffNumber === staffNumber) {
        renameSync(join(dir, name), join(dir, name.replace(/\.partial-[0-9a-f]+$/, '')));
        finished.add(staffNumber);
      } else {
        rmSync(join(dir, name), { force: true });
        removed.add(staffNumber);
      }
    }
  }
  return { finished: [...finished].sort(), removed: [...removed].sort() };
}

/** Issue one person's staff-auth certificate with a generated key, and write the bundle and its handout. */
export async function enrollOne(issuer: Issuer, out: string, site: string, p: RosterEntry, actor?: string): Promise<Issued> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  return issuer.issue(
    { profile: STAFF_ENROLL_PROFILE, site, csr: new Uint8Array(staffCsr(privateKey, p.staffNumber, p.name)), ...(p.email ? { email: [p.email] } : {}), ...(actor ? { actor } : {}) },
    bundleDelivery(out, site, p, keyPem, handoutPassword()),
  );
}

export function newIssuer(pki: PkiStore, fabric: Fabric, passphrase: string): Issuer {
  return new Issuer(pki, fabric, passphrase);
}
