import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsr, verifyCsrSignature } from '../index.js';
import { opensslCsr, opensslKey, type KeyKind } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-pop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const POP_REFUSED = 'CSR signature does not verify: got a request not signed by the key it carries, want one signed with its own private key (proof of possession)';

describe.each(['p256', 'p384', 'rsa2048', 'sm2'] as const satisfies readonly KeyKind[])('proof of possession for %s requests made by OpenSSL', (kind) => {
  const csr = (name: string) => opensslCsr(dir, opensslKey(dir, `${kind}-${name}`, kind), `/CN=${name}.jinbao.internal`, { sm2: kind === 'sm2', name: `${kind}-${name}` });
  const a = csr('a');
  const b = csr('b');

  it('GIVEN an untouched request THEN its signature verifies with the key it carries', () => {
    expect(() => verifyCsrSignature(parseCsr(a))).not.toThrow();
  });

  it('GIVEN a request whose signature was altered THEN it is refused', () => {
    const bad = Buffer.from(a);
    bad[bad.length - 5]! ^= 0x01;
    expect(() => verifyCsrSignature(parseCsr(bad))).toThrow(POP_REFUSED);
  });

  it('GIVEN a request carrying another key than the one that signed it THEN it is refused', () => {
    const spkiA = Buffer.from(parseCsr(a).spkiDer);
    const spkiB = Buffer.from(parseCsr(b).spkiDer);
    expect(spkiB.length).toBe(spkiA.length);
    const at = Buffer.from(a).indexOf(spkiA);
    const swapped = Buffer.concat([a.subarray(0, at), spkiB, a.subarray(at + spkiA.length)]);
    expect(Buffer.from(parseCsr(swapped).spkiDer).toString('hex')).toBe(spkiB.toString('hex'));
    expect(() => verifyCsrSignature(parseCsr(swapped))).toThrow(POP_REFUSED);
  });
});
