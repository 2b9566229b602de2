import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { JinbaoError } from '../lib/errors.js';
import { buildPkcs12, checkPkcs12Password } from './p12.js';
import type { Delivery, Issued, StagedDelivery } from './pipeline.js';
import { toPem } from './x509.js';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';
import { makeDirs } from '../lib/dirs.js';

export type { Delivery, StagedDelivery } from './pipeline.js';

/**
 * Getting an issued certificate (and a generated key) to its holder, in two phases around the
 * commit that records the certificate:
 *   check (before signing) → stage (after signing, before the commit) → commit or discard.
 * Everything that can fail for a reason the user can fix (a directory that cannot be made, a disk
 * that refuses a write, a weak bundle password) fails before the certificate is recorded; a commit
 * that fails removes what was staged. So a recorded certificate always has its files, and a
 * generated private key is never lost behind an active certificate.
 */
export interface FileDeliveryOptions {
  /** Created when missing. */
  readonly dir: string;
  /** Also write SERIAL.p12 protected by this password (at least MIN_PKCS12_PASSWORD_LENGTH characters). */
  readonly p12Password?: string;
  /** The holder's own private key (PKCS#8 PEM), for the bundle when the CA did not generate the key. */
  readonly holderKeyPem?: string;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Files in `dir`: SERIAL.crt.pem, SERIAL.chain.pem (issuing CA first, root last), SERIAL.key.pem
 * (a generated key, mode 0600) and, with a password, SERIAL.p12 (mode 0600).
 */
export function fileDelivery(o: FileDeliveryOptions): Delivery {
  const dir = resolve(o.dir);
  return {
    check() {
      if (o.p12Password !== undefined) checkPkcs12Password(o.p12Password);
      try {
        makeDirs(dir);
      } catch (err) {
        throw inputError(PKI_MESSAGES, 'deliver.mkdir', { dir, errno: errnoOf(err) }, { cause: err });
      }
    },
    stage(issued) {
      const serial = issued.record.serial;
      const privateKeyPem = issued.key?.exportPkcs8() ?? o.holderKeyPem;
      if (o.p12Password !== undefined && privateKeyPem === undefined) {
        throw inputError(PKI_MESSAGES, 'deliver.p12NoKey');
      }
      const outputs: { kind: string; file: string; data: string | Uint8Array; secret: boolean }[] = [
        { kind: 'certificate', file: join(dir, `${serial}.crt.pem`), data: toPem(issued.certificateDer), secret: false },
        { kind: 'chain', file: join(dir, `${serial}.chain.pem`), data: issued.chainDer.map((d) => toPem(d)).join(''), secret: false },
      ];
      if (issued.key) outputs.push({ kind: 'key', file: join(dir, `${serial}.key.pem`), data: privateKeyPem!, secret: true });
      if (o.p12Password !== undefined) {
        const p12 = buildPkcs12({ privateKeyPem: privateKeyPem!, certificates: [issued.certificateDer, ...issued.chainDer], password: o.p12Password, friendlyName: issued.record.commonName });
        outputs.push({ kind: 'p12', file: join(dir, `${serial}.p12`), data: p12, secret: true });
      }
      const staging = (file: string) => `${file}.partial-${process.pid}`;
      const written: string[] = [];
      const discard = () => {
        for (const f of written) rmSync(f, { force: true });
      };
      for (const out of outputs) {
        try {
          // 'wx': a fresh file, so the mode applies from the first byte (a key is never world-readable, even briefly).
          writeFileSync(staging(out.file), out.data, { mode: out.secret ? 0o600 : 0o644, flag: 'wx' });
          written.push(staging(out.file));
        } catch (err) {
          discard();
          throw inputError(PKI_MESSAGES, 'deliver.write', { dir, file: staging(out.file), errno: errnoOf(err) }, { cause: err });
        }
      }
      return {
        commit() {
          const files: Record<string, string> = {};
          for (const out of outputs) {
            try {
              renameSync(staging(out.file), out.file);
            } catch (err) {
              throw new JinbaoError(
                `certificate ${serial} is recorded, but ${staging(out.file)} could not be renamed to ${out.file} (${errnoOf(err)}); rename it by hand (jinbao pki show ${serial} --pem also gives the certificate back)`,
                { exitCode: 1, cause: err },
              );
            }
            files[out.kind] = out.file;
          }
          return files;
        },
        discard,
      };
    },
  };
}
