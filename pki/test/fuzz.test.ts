import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../lib/errors.js';
import { parseCsr, toPem, verifyCsrSignature } from '../index.js';
import { opensslCsr, opensslKey } from './helpers.js';

/** Parse and check; the only acceptable failure is an InputError with a message. */
function parseOrRefuse(input: Uint8Array | string): 'accepted' | 'refused' {
  try {
    verifyCsrSignature(parseCsr(input));
    return 'accepted';
  } catch (err) {
    if (err instanceof InputError && err.message.length > 0) return 'refused';
    throw err;
  }
}

describe('the CSR parser under fuzzing', () => {
  let dir: string;
  const seeds: Buffer[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-fuzz-'));
    seeds.push(opensslCsr(dir, opensslKey(dir, 'ec', 'p256'), '/CN=张三/serialNumber=S0001', { name: 'ec', addext: ['subjectAltName=DNS:a.example,IP:10.0.0.1', 'extendedKeyUsage=clientAuth'] }));
    seeds.push(opensslCsr(dir, opensslKey(dir, 'rsa', 'rsa2048'), '/CN=rsa', { name: 'rsa' }));
    seeds.push(opensslCsr(dir, opensslKey(dir, 'sm2', 'sm2'), '/CN=sm2', { name: 'sm2', sm2: true }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('GIVEN the unmutated seeds THEN each is accepted (so the property below tests real parsing)', () => {
    for (const s of seeds) expect(parseOrRefuse(s)).toBe('accepted');
  });

  it('GIVEN byte flips, truncations and insertions of valid CSRs THEN it never crashes', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, mutations) => {
        let b = Buffer.from(seeds[which]!);
        for (const m of mutations) {
          const at = m.at % b.length;
          if (m.kind === 'flip') b[at] = b[at]! ^ m.xor;
          else if (m.kind === 'truncate') b = b.subarray(0, at);
          else b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
          if (b.length === 0) break;
        }
        parseOrRefuse(b);
      }),
      { numRuns: 1500 },
    );
  });

  it('GIVEN random bytes and random PEM text THEN it never crashes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        parseOrRefuse(bytes);
        parseOrRefuse(toPem(bytes, 'CERTIFICATE REQUEST'));
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => void parseOrRefuse(text)), { numRuns: 300 });
  });
});
