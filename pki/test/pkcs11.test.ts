import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { InputError } from '../../lib/errors.js';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { Issuer, Pkcs11KeyBackend, PkiStore, initHierarchy, openCaSigner, replaceCa } from '../index.js';
import { countRows, inventoryFile, lastAudit, opensslCsr, opensslKey, smallFabric, verifyWithOpenssl } from './helpers.js';

const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const PIN = '246810';

describe.skipIf(!existsSync(MODULE))('CA keys in a SoftHSM2 token (skipped without the softhsm2 package)', () => {
  let dir: string;
  let state: Database;
  let pki: PkiStore;
  let backend: Pkcs11KeyBackend;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-hsm-'));
    mkdirSync(join(dir, 'tokens'));
    writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
    for (const label of ['jinbao-ca', 'jinbao-cli']) {
      const r = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', '13579135'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    }
    state = await openDatabase(join(dir, 'state'));
    pki = await PkiStore.open(state, join(dir, 'state'));
    backend = new Pkcs11KeyBackend({ module: MODULE, token: 'jinbao-ca' });
  });
  afterAll(async () => {
    backend.close();
    await state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN a token WHEN the hierarchy is created in it THEN no key file exists and issued chains verify with openssl', async () => {
    await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PIN, backend });
    expect(await pki.getCa('root')).toMatchObject({ keyBackend: 'pkcs11' });
    expect(await state.query('SELECT ref FROM pki_keys')).toEqual([]);
    const issuer = new Issuer(pki, smallFabric(), PIN);
    const csr = opensslCsr(dir, opensslKey(dir, 'staff', 'p256'), '/CN=张三/serialNumber=S0001');
    const staff = await issuer.issue({ profile: 'staff-auth', site: '440100', csr });
    expect(await pki.getCa('province-440000-staff')).toMatchObject({ keyBackend: 'pkcs11' });
    const v = verifyWithOpenssl(dir, 'ecdsa-p256', staff.certificateDer, staff.chainDer, 'sslclient');
    expect(v.output).toContain('OK');
    expect(v.code).toBe(0);
  });

  it('GIVEN a wrong PIN THEN opening the CA and issuing are refused, nothing stored, refusal audited', async () => {
    await expect(openCaSigner(pki, 'infrastructure', '000000')).rejects.toThrow('wrong PIN for PKCS#11 token "jinbao-ca": got a PIN the token refuses, want the user PIN');
    const before = (await countRows(state));
    const err = await new Issuer(pki, smallFabric(), '000000').issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=x.example' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((await countRows(state))).toEqual({ ...before, audit: before.audit + 1 });
    expect((await lastAudit(state))).toMatchObject({ action: 'pki.issue', outcome: 'refused' });
  });

  it('GIVEN an SM2 hierarchy or an unknown token THEN they are refused with what the token offers', async () => {
    const other = await openDatabase(join(dir, 'state-sm2'));
    try {
      await expect(initHierarchy(await PkiStore.open(other, join(dir, 'state-sm2')), { algorithm: 'sm2', passphrase: PIN, backend })).rejects.toThrow('PKCS#11 algorithm: got sm2, want ecdsa-p256, ecdsa-p384 or rsa-3072 (the token offers no SM2 mechanism)');
      const missing = new Pkcs11KeyBackend({ module: MODULE, token: 'nope' });
      await expect(initHierarchy(await PkiStore.open(other, join(dir, 'state-sm2')), { algorithm: 'ecdsa-p256', passphrase: PIN, backend: missing })).rejects.toThrow(/^PKCS#11 token: got "nope", want one of .*"jinbao-ca"/);
    } finally {
      await other.close();
    }
  });

  it('WHEN pki init runs with --pkcs11-module and --token-label THEN the CAs live in the token', async () => {
    const cliDir = join(dir, 'cli');
    mkdirSync(cliDir);
    const r = await runCli(['--inventory', inventoryFile(cliDir), '--state', join(cliDir, 'state'), 'pki', 'init', '--pkcs11-module', MODULE, '--token-label', 'jinbao-cli', '--passphrase-env', 'HSM_PIN', '--json'], { HSM_PIN: PIN, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF! });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).cas.every((c: { keyBackend: string }) => c.keyBackend === 'pkcs11')).toBe(true);
    const half = await runCli(['--inventory', inventoryFile(cliDir), '--state', join(cliDir, 'state2'), 'pki', 'init', '--pkcs11-module', MODULE], { HSM_PIN: PIN });
    expect(half.stderr).toContain('PKCS#11: got only one of --pkcs11-module and --token-label, want both');
  });

  it('GIVEN a revoked CA whose key is on a token WHEN it is replaced THEN the successor key is generated on the same token and issues chains openssl accepts', async () => {
    await pki.markCaRevoked('province-440000-staff', 'cACompromise');
    const { successor } = await replaceCa(pki, 'province-440000-staff', PIN);
    expect(successor).toMatchObject({ id: 'province-440000-staff-2', keyBackend: 'pkcs11' });
    expect(JSON.parse(successor.keyRef)).toEqual({ module: MODULE, token: 'jinbao-ca', label: 'province-440000-staff-2' });
    expect(await state.query('SELECT ref FROM pki_keys')).toEqual([]);
    const csr = opensslCsr(dir, opensslKey(dir, 'staff2', 'p256'), '/CN=李四/serialNumber=S0002', { name: 'staff2' });
    const staff = await new Issuer(pki, smallFabric(), PIN).issue({ profile: 'staff-auth', site: '440300', csr });
    expect(staff.record.caId).toBe('province-440000-staff-2');
    const v = verifyWithOpenssl(dir, 'ecdsa-p256', staff.certificateDer, staff.chainDer, 'sslclient');
    expect(v.output).toContain('OK');
    expect(v.code).toBe(0);

    // The same through the CLI, on the hierarchy pki init put in the other token.
    const cliDir = join(dir, 'cli');
    const env = { HSM_PIN: PIN, SOFTHSM2_CONF: process.env.SOFTHSM2_CONF! };
    const cli = (...args: string[]) => runCli(['--inventory', inventoryFile(cliDir), '--state', join(cliDir, 'state'), 'pki', ...args], env);
    expect((await cli('revoke', '--ca', 'infrastructure', '--reason', 'keyCompromise')).code).toBe(0);
    const r = await cli('replace-ca', '--ca', 'infrastructure', '--passphrase-env', 'HSM_PIN', '--json');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ replaced: { id: 'infrastructure', status: 'revoked' }, successor: { id: 'infrastructure-2', keyBackend: 'pkcs11', replaces: 'infrastructure' }, certificatesToReissue: 0 });
    const issued = await cli('issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=yl.440100.jinbao.internal', '--passphrase-env', 'HSM_PIN', '--out', join(cliDir, 'certs'), '--json');
    expect(issued.stderr).toBe('');
    expect(JSON.parse(issued.stdout).certificate.ca).toBe('infrastructure-2');
  });
});
