/**
 * A separate process that issues certificates into a shared store, printing "issued SERIAL" only
 * after each one is committed. Used by the concurrency and crash tests.
 * Usage: node --import tsx issue-worker.ts STATE_DIR CSR_FILE COUNT
 */
import { readFileSync } from 'node:fs';
import { StateStore } from '../../lib/state.js';
import { Issuer, PkiStore } from '../index.js';
import { PASS, smallFabric } from './helpers.js';

const [stateDir, csrFile, countText] = process.argv.slice(2);
const state = StateStore.open(stateDir!);
const pki = PkiStore.open(state);
const issuer = new Issuer(pki, smallFabric(), PASS);
const csr = readFileSync(csrFile!);
process.stdout.write('ready\n');
for (let i = 0; i < Number(countText); i++) {
  const issued = await issuer.issue({ profile: 'server-tls', site: '440100', csr });
  process.stdout.write(`issued ${issued.record.serial}\n`);
}
state.close();
