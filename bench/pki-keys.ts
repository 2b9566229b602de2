/**
 * CA key unlock cost: decrypting a software CA key (encrypted PKCS#8) with the current protection
 * (PBKDF2-HMAC-SHA256, 600,000 iterations) against the protection older jinbao wrote (OpenSSL's
 * default, 2,048 iterations), measured in the same run. The unlock cost is paid once per command
 * that signs, and by anyone guessing passphrases for a stolen key file, per guess.
 *
 *   npx tsx bench/pki-keys.ts            # 10 unlocks of each
 *   npx tsx bench/pki-keys.ts --quick    # 3 of each
 */
import { createPrivateKey, generateKeyPairSync, pbkdf2Sync } from 'node:crypto';
import { encryptPkcs8, KEY_PROTECTION, keyProtection, SoftwareKeyBackend, type KeyBlobs } from '../pki/keys.js';

const runs = process.argv.includes('--quick') ? 3 : 10;
const passphrase = 'correct horse battery staple';
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const legacy = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;

function median(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const current = encryptPkcs8(privateKey, passphrase);
const unlockLegacy = median(() => createPrivateKey({ key: legacy, format: 'pem', passphrase }));
const unlockCurrent = median(() => createPrivateKey({ key: current, format: 'pem', passphrase }));
const encryptCurrent = median(() => encryptPkcs8(privateKey, passphrase));
const legacyInfo = keyProtection(legacy);
// A command that signs many times (jinbao up opens the same CA keys dozens of times) unlocks each key once.
const pems = new Map<string, string>();
const blobs: KeyBlobs = {
  where: 'memory',
  keyPem: async (ref) => pems.get(ref),
  insertKey: async (ref, pem) => !pems.has(ref) && (pems.set(ref, pem), true),
  replaceKey: async (ref, previous, pem) => void (pems.get(ref) === previous && pems.set(ref, pem)),
};
const backend = new SoftwareKeyBackend(blobs);
const { ref } = await backend.generate('ecdsa-p256', 'bench-ca', passphrase);
const firstOpen = performance.now();
await backend.open(ref, 'ecdsa-p256', passphrase);
const firstOpenMs = performance.now() - firstOpen;
const again = performance.now();
for (let i = 0; i < 50; i++) await backend.open(ref, 'ecdsa-p256', passphrase);
const againMs = (performance.now() - again) / 50;
// The key derivation alone, without OpenSSL's fixed cost of parsing and decrypting the file.
const kdfLegacy = median(() => pbkdf2Sync(passphrase, 'saltsalt', legacyInfo.iterations!, 32, 'sha256'));
const kdfCurrent = median(() => pbkdf2Sync(passphrase, 'saltsalt', KEY_PROTECTION.iterations, 32, 'sha256'));
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`CA key unlock, median of ${runs} (P-256, this machine, same run):`);
log(`  baseline  ${legacyInfo.kdf} × ${legacyInfo.iterations} (older jinbao): ${unlockLegacy.toFixed(2)} ms`);
log(`  current   ${KEY_PROTECTION.kdf} × ${KEY_PROTECTION.iterations}: ${unlockCurrent.toFixed(1)} ms unlock, ${encryptCurrent.toFixed(1)} ms to write`);
log(`  ratio     ${(unlockCurrent / unlockLegacy).toFixed(0)}× the baseline per unlock (and per passphrase guess on a stolen file)`);
log(`  KDF only  ${kdfLegacy.toFixed(2)} ms vs ${kdfCurrent.toFixed(1)} ms: ${(kdfCurrent / kdfLegacy).toFixed(0)}× (the cost a guesser with the file pays, without the file parsing)`);
log(`  in one process: first open of a CA key ${firstOpenMs.toFixed(1)} ms, later opens ${againMs.toFixed(3)} ms each (unlocked once per process)`);
log(`  guesses   ${(1000 / unlockCurrent).toFixed(1)} per second per core now, ${(1000 / unlockLegacy).toFixed(0)} before`);
