/**
 * A separate process that issues (and, with REVOKE_EVERY > 0, revokes) certificates in a shared
 * store, printing a line only after each operation is committed: "issued SERIAL",
 * "revoked SERIAL SEQ", or "fail OP MESSAGE" for an operation that failed clearly. Issuances run
 * IN_FLIGHT at a time, so the store's group commit records several per transaction.
 * Used by the concurrency and crash tests.
 * Usage: node --import tsx issue-worker.ts TARGET STATE_DIR CSR_FILE COUNT [IN_FLIGHT] [REVOKE_EVERY]
 *   TARGET: the state directory (SQLite) or a postgresql:// URL
 */
import { readFileSync } from 'node:fs';
import { CommitOutcomeUnknown, openDatabase } from '../../lib/sql/index.js';
import { Issuer, PkiStore } from '../index.js';
import { PASS, smallFabric } from './helpers.js';

const [target, stateDir, csrFile, countText, inFlightText = '1', revokeEveryText = '0'] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const db = await openDatabase(target, { retryMs: 60_000 });
const pki = await PkiStore.open(db, stateDir);
const issuer = new Issuer(pki, smallFabric(), PASS);
const csr = readFileSync(csrFile);
const count = Number(countText);
const revokeEvery = Number(revokeEveryText);
const line = (text: string): void => void process.stdout.write(`${text}\n`);
line('ready');

let next = 0;
let done = 0;
async function revoke(serial: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await pki.markRevoked(serial, 'superseded');
      return line(`revoked ${serial} ${r.revocationSeq}`);
    } catch (err) {
      // Whether it committed is found out by its own key: only this process revokes its certificates.
      if (err instanceof CommitOutcomeUnknown && attempt < 5) {
        const now = await pki.findCertificate(serial);
        if (now?.status === 'revoked') return line(`revoked ${serial} ${now.revocationSeq}`);
        continue;
      }
      return line(`fail revoke-${serial} ${(err as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
}
async function lane(): Promise<void> {
  while (next < count) {
    const i = next++;
    try {
      const issued = await issuer.issue({ profile: 'server-tls', site: '440100', csr });
      line(`issued ${issued.record.serial}`);
      if (revokeEvery > 0 && (++done) % revokeEvery === 0) await revoke(issued.record.serial);
    } catch (err) {
      line(`fail issue-${i} ${(err as Error).message.replace(/\s+/g, ' ')}`);
    }
  }
}
await Promise.all(Array.from({ length: Number(inFlightText) }, lane));
await db.close();
