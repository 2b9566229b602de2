/**
 * No single holder of the CA passphrase: a real `jinbao serve --sealed` process signs nothing until
 * custodians' shares (jinbao ceremony split) submitted with the real `jinbao unseal` reach the
 * threshold; duplicate, corrupted and malformed shares are refused and audited.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { waitUntil } from '../../testkit/index.js';
import { httpsStatus as get, testbed } from './organisation-kit.js';

describe('a sealed jinbao serve and the custodians who unseal it', () => {
  const bed = testbed('jinbao-seal-');
  const { dir, g, env } = bed;
  const shares = join(dir, 'shares');
  const unseal = (args: string[]) => runCli([...g, 'unseal', '--server', `${bed.url()}`, '--server-ca', join(dir, 'root.pem'), ...args]);
  const share = (n: number) => join(shares, `share-${n}-of-5.txt`);

  beforeAll(async () => {
    await bed.init({ tls: true });
  }, 60_000);

  afterAll(async () => {
    await bed.stop();
    bed.cleanup();
  });

  it('GIVEN a wrong passphrase or bad counts WHEN the passphrase is split THEN nothing is written', async () => {
    const wrong = await runCli([...g, 'ceremony', 'split', '--shares', '5', '--threshold', '3', '--out', shares], { JINBAO_PKI_PASSPHRASE: 'not the passphrase at all' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('the passphrase does not open the CA keys');
    const counts = await runCli([...g, 'ceremony', 'split', '--shares', '3', '--threshold', '4', '--out', shares], env);
    expect(counts.code).toBe(2);
    expect(counts.stderr).toContain('--threshold: got "4"');
    expect(() => readdirSync(shares)).toThrow();
  });

  it('WHEN the passphrase is split 3 of 5 THEN five share files exist (0600), the ceremony is audited without shares, and a second split into the same folder is refused', async () => {
    const r = await runCli([...g, 'ceremony', 'split', '--shares', '5', '--threshold', '3', '--out', shares, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(shares).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `share-${n}-of-5.txt`));
    for (let n = 1; n <= 5; n++) expect(statSync(share(n)).mode & 0o777).toBe(0o600);
    const audit = (await runCli([...g, 'audit', 'export', '--action', 'ceremony.'])).stdout;
    expect(audit).toContain('"action":"ceremony.split"');
    const line = (n: number) => readFileSync(share(n), 'utf8').split('\n').find((l) => l.startsWith('jinbao-share-v1:'))!;
    for (let n = 1; n <= 5; n++) expect(audit).not.toContain(line(n).split(':')[3]!);
    expect((await runCli([...g, 'ceremony', 'split', '--shares', '5', '--threshold', '3', '--out', shares], env)).stderr).toContain('already holds share files');
  });

  it('GIVEN the passphrase in the environment WHEN serve --sealed starts THEN it is refused: a sealed service takes it only from shares', async () => {
    const r = await runCli([...g, 'serve', '--sealed', '--listen', `127.0.0.1:${bed.port}`, '--tls-cert', join(dir, 'tls.pem'), '--tls-key', join(dir, 'tls.key')], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--sealed: got JINBAO_PKI_PASSPHRASE set in the environment, want it unset');
  });

  it('WHEN custodians submit shares THEN the service stays sealed below the threshold, refuses repeats and corrupted shares, and serves ACME once three open the CA keys', async () => {
    await bed.start(['--sealed', '--listen', `127.0.0.1:${bed.port}`, '--tls-cert', join(dir, 'tls.pem'), '--tls-key', join(dir, 'tls.key')], 'sealed on', { withPassphrase: false });

    expect(await get(`${bed.url()}/acme/directory`, bed.root)).toBe(503);
    expect(await get(`${bed.url()}/readyz`, bed.root)).toBe(503);
    expect((await unseal([])).stdout).toContain('sealed: 0 of 3 shares in');
    expect((await unseal(['--share', share(2)])).stdout).toContain('sealed: 1 of 3 shares in');
    const again = await unseal(['--share', share(2)]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('refused: share 2 was already submitted (1 of 3 in)');
    const text = readFileSync(share(4), 'utf8');
    const corrupt = join(dir, 'corrupt.txt');
    writeFileSync(corrupt, text.replace(/:([A-Za-z0-9_-])([A-Za-z0-9_-]+)\n$/, (_m, a: string, rest: string) => `:${a === 'A' ? 'B' : 'A'}${rest}\n`));
    expect((await unseal(['--share', corrupt])).stderr).toContain('refused: share 4 does not match what ceremony');
    writeFileSync(corrupt, 'not a share\n');
    expect((await unseal(['--share', corrupt])).stderr).toContain('refused: the share is malformed');
    expect((await unseal(['--share', share(4)])).stdout).toContain('sealed: 2 of 3 shares in');
    expect(await get(`${bed.url()}/acme/directory`, bed.root)).toBe(503);
    const last = await unseal(['--share', share(5)]);
    expect(last.stdout).toContain('unsealed (ceremony cer-');
    await waitUntil(() => bed.stdout.includes('listening on'), 'jinbao serve to start unsealed', { timeoutMs: 60_000 });
    expect(bed.stdout).toMatch(/unsealed: serving \d+ ms after the last share arrived/);
    expect(await get(`${bed.url()}/acme/directory`, bed.root)).toBe(200);
    expect(await get(`${bed.url()}/readyz`, bed.root)).toBe(200);
    const audit = (await runCli([...g, 'audit', 'export', '--action', 'serve.unseal'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { outcome: string });
    expect(audit.map((a) => a.outcome)).toEqual(['ok', 'refused', 'refused', 'refused', 'ok', 'ok']);
  }, 120_000);
});
