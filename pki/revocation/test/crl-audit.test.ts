import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/testkit.js';
import { tempDir } from '../../../testkit/index.js';
import { readAudit, verifyAudit, type AuditEntry } from '../../../lib/audit.js';
import { openDatabase } from '../../../lib/sql/index.js';

const PASS = 'correct horse battery staple';
const ENV = { JINBAO_PKI_PASSPHRASE: PASS };

/** Every use of a CA key and every refusal lands in the audit chain: CRL cuts, full and delta, and their refusals. */
describe('CRL cuts are audited', () => {
  let dir: string;
  let cleanup: () => void;
  let out: string;
  const cli = (args: string[], env: Record<string, string> = ENV) => runCli(['--state', dir, 'pki', ...args], env);
  /** The audit entries appended while `fn` ran. */
  const appended = async (fn: () => Promise<unknown>): Promise<AuditEntry[]> => {
    const count = async () => {
      const s = await openDatabase(dir);
      try {
        return await readAudit(s);
      } finally {
        await s.close();
      }
    };
    const before = (await count()).length;
    await fn();
    return (await count()).slice(before);
  };

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('jinbao-crl-audit-'));
    out = join(dir, 'crl');
    expect((await cli(['init'])).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('GIVEN no full CRL yet WHEN a delta is asked for THEN the refusal is audited with its reason', async () => {
    let code = 0;
    const entries = await appended(async () => ({ code } = await cli(['crl', '--ca', 'infrastructure', '--delta', '--out', out])));
    expect(code).toBe(2);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'pki.crl', outcome: 'refused', subject: 'infrastructure' });
    expect(entries[0]!.details.reason).toContain('has no full CRL yet, so a delta CRL has no base');
  });

  it('WHEN a full CRL is cut THEN one ok entry (the refused delta took no CRL number) records the CA, kind, number and entries', async () => {
    const entries = await appended(async () => expect((await cli(['crl', '--ca', 'infrastructure', '--out', out])).code).toBe(0));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'pki.crl', outcome: 'ok', subject: 'infrastructure', details: { kind: 'full', number: 1, entries: 0 } });
  });

  it('WHEN a delta CRL is cut THEN its entry names the full CRL it updates', async () => {
    const entries = await appended(async () => expect((await cli(['crl', '--ca', 'infrastructure', '--delta', '--out', out])).code).toBe(0));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'pki.crl', outcome: 'ok', subject: 'infrastructure', details: { kind: 'delta', number: 2, baseNumber: 1, entries: 0 } });
  });

  it('GIVEN an unknown CA or a wrong passphrase THEN the refused cut is audited', async () => {
    const unknown = await appended(() => cli(['crl', '--ca', 'nowhere', '--out', out]));
    expect(unknown).toHaveLength(1);
    expect(unknown[0]).toMatchObject({ action: 'pki.crl', outcome: 'refused', subject: 'nowhere' });
    expect(unknown[0]!.details.reason).toContain('unknown CA: got "nowhere"');
    const wrong = await appended(() => cli(['crl', '--ca', 'root', '--out', out], { JINBAO_PKI_PASSPHRASE: 'not the passphrase at all' }));
    expect(wrong).toHaveLength(1);
    expect(wrong[0]).toMatchObject({ action: 'pki.crl', outcome: 'refused', subject: 'root' });
    expect(wrong[0]!.details.reason).toContain('wrong passphrase');
  });

  it('WHEN an OCSP responder certificate is issued THEN that use of the CA key is audited too, and the chain holds', async () => {
    const entries = await appended(() => cli(['issue', '--profile', 'ocsp-signing', '--site', '000000', '--ca', 'root', '--generate', '--subject', 'CN=OCSP root', '--out', join(dir, 'ocsp')]));
    expect(entries.map((e) => [e.action, e.outcome, e.details.profile, e.details.caId])).toEqual([['pki.issue', 'ok', 'ocsp-signing', 'root']]);
    const s = await openDatabase(dir);
    try {
      expect((await verifyAudit(s)).ok).toBe(true);
    } finally {
      await s.close();
    }
  });
});
