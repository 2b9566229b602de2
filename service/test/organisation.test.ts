/**
 * The organisation MLPS level 3 asks for, against one real sealed `jinbao serve`: a national
 * security administrator, two provincial ones (Guangdong, Beijing), an audit administrator, a
 * system administrator and five custodians holding shares of the CA passphrase. Everything goes
 * through the real CLI (client mode, jinbao unseal): unsealing 3 of 5, least privilege, scopes,
 * suspension, dual control (approve, self-approval, replay, rejection, expiry, the policy itself)
 * and sealing again. Each refusal is checked in the audit log with the operator's identity.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { waitUntil } from '../../testkit/index.js';
import { httpsStatus as get, testbed } from './organisation-kit.js';

const PENDING = 5;

interface Entry {
  action: string;
  outcome: string;
  actor: string;
  subject: string;
  details: Record<string, unknown>;
}

describe('an organisation of administrators and custodians against a sealed jinbao serve', () => {
  const bed = testbed('jinbao-org-');
  const { dir, g, env, people } = bed;
  const shares = join(dir, 'shares');
  const url = () => bed.url();
  const add = bed.add;
  const as = (key: string, args: string[]) => runCli(['--server', url(), '--identity', people[key]!.p12, ...args], { JINBAO_IDENTITY_PASSPHRASE: people[key]!.password, JINBAO_OPERATOR_PASSWORD: people[key]!.login });
  const unseal = (args: string[]) => runCli(['unseal', '--server', url(), '--server-ca', join(dir, 'root.pem'), ...args]);
  const share = (n: number) => join(shares, `share-${n}-of-5.txt`);
  const audit = async (action: string): Promise<Entry[]> => {
    const out = (await runCli([...g, 'audit', 'export', '--action', action])).stdout.trim();
    return out === '' ? [] : out.split('\n').map((l) => JSON.parse(l) as Entry);
  };
  const refusedFor = async (action: string, key: string): Promise<Entry[]> => (await audit(action)).filter((e) => e.outcome === 'refused' && e.actor.startsWith(`operator:${people[key]!.id} `) && e.actor.includes(`certificate ${people[key]!.serial}`));
  const propose = async (key: string, args: string[]): Promise<number> => {
    const r = await as(key, [...args, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(PENDING);
    return (JSON.parse(r.stdout) as { pending: number }).pending;
  };
  const caStatus = async (id: string) => ((JSON.parse((await runCli([...g, 'pki', 'cas', '--json'])).stdout) as { cas: { id: string; status: string }[] }).cas.find((c) => c.id === id))?.status;

  beforeAll(async () => {
    await bed.init({ tls: true });
    await add('security', '张伟', '100234', 'security-admin');
    await add('gd', '李娜', '440017', 'security-admin', ['--scope', '440000']);
    await add('bj', '陈刚', '110023', 'security-admin', ['--scope', '110000']);
    await add('audit', '刘敏', '100377', 'audit-admin');
    await add('system', '王强', '100101', 'system-admin');
    expect((await runCli([...g, 'ceremony', 'split', '--shares', '5', '--threshold', '3', '--out', shares], env)).code).toBe(0);
    await bed.start(['--sealed', '--listen', `127.0.0.1:${bed.port}`, '--tls-cert', join(dir, 'tls.pem'), '--tls-key', join(dir, 'tls.key')], 'sealed on', { withPassphrase: false });
  }, 120_000);

  afterAll(async () => {
    await bed.stop();
    bed.cleanup();
  });

  it('GIVEN the sealed service WHEN custodians submit fewer than 3 shares, one twice, or a corrupted one THEN it stays sealed; the third good share unseals it', async () => {
    expect((await unseal(['--share', share(1)])).stdout).toContain('sealed: 1 of 3 shares in');
    const twice = await unseal(['--share', share(1)]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('share 1 was already submitted');
    const corrupt = join(dir, 'corrupt.txt');
    writeFileSync(corrupt, readFileSync(share(2), 'utf8').replace(/:([A-Za-z0-9_-])([A-Za-z0-9_-]+)\n$/, (_m, a: string, rest: string) => `:${a === 'A' ? 'B' : 'A'}${rest}\n`));
    expect((await unseal(['--share', corrupt])).stderr).toContain('share 2 does not match what ceremony');
    expect((await unseal(['--share', share(3)])).stdout).toContain('sealed: 2 of 3 shares in');
    expect(await get(`${url()}/acme/directory`, bed.root)).toBe(503);
    expect((await as('security', ['kpi'])).code).not.toBe(0);
    expect((await unseal(['--share', share(5)])).stdout).toContain('unsealed (ceremony cer-');
    await waitUntil(() => bed.stdout.includes('listening on'), 'jinbao serve to start unsealed', { timeoutMs: 60_000 });
    expect(await get(`${url()}/acme/directory`, bed.root)).toBe(200);
  }, 90_000);

  it('GIVEN the audit administrator THEN issuing a certificate is refused, and the refusal is audited with their identity', async () => {
    const r = await as('audit', ['pki', 'issue', '--profile', 'server-tls', '--site', '110000', '--generate', '--subject', 'CN=app']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`operator ${people.audit!.id} is audit-admin: "pki issue" is not among what that role may do`);
    expect((await refusedFor('serve.admin', 'audit')).map((e) => e.subject)).toContain('pki issue');
  });

  it('GIVEN the Guangdong security administrator THEN acting on a Beijing site is refused and audited', async () => {
    const r = await as('gd', ['acme', 'eab', 'create', '--site', '110000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`operator ${people.gd!.id} acts on province 440000 only, got --site 110000`);
    expect((await refusedFor('serve.admin', 'gd')).length).toBeGreaterThan(0);
  });

  it('GIVEN a suspended system administrator THEN every command is refused and audited', async () => {
    expect((await runCli([...g, 'operator', 'suspend', people.system!.id])).code).toBe(0);
    const r = await as('system', ['ipam', '--site', '440100']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`operator ${people.system!.id} (system-admin) is suspended`);
    expect((await refusedFor('serve.admin', 'system')).length).toBeGreaterThan(0);
  });

  it('GIVEN a CA revocation proposed by the national security administrator THEN it waits; self-approval, another province and the audit administrator are refused; Guangdong\'s approval runs it as the proposer with the approval chain; a replay is refused', async () => {
    const id = await propose('security', ['pki', 'revoke', '--ca', 'province-440000-staff', '--reason', 'cACompromise']);
    expect(await caStatus('province-440000-staff')).toBe('active');
    const human = await as('security', ['approvals', 'show', String(id)]);
    expect(human.stdout).toContain('pki revoke --ca province-440000-staff --reason cACompromise');

    const self = await as('security', ['approvals', 'approve', String(id)]);
    expect(self.code).toBe(2);
    expect(self.stderr).toContain(`request ${id} is yours: the proposer never approves or rejects their own request`);
    const beijing = await as('bj', ['approvals', 'approve', String(id)]);
    expect(beijing.stderr).toContain(`operator ${people.bj!.id} acts on province 110000 only: request ${id} acts on 440000`);
    expect((await as('audit', ['approvals', 'approve', String(id)])).stderr).toContain('"approvals approve" is not among what that role may do');
    expect(await caStatus('province-440000-staff')).toBe('active');

    const approved = await as('gd', ['approvals', 'approve', String(id)]);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`request ${id} approved: running pki revoke --ca province-440000-staff`);
    expect(await caStatus('province-440000-staff')).toBe('revoked');
    const revoked = (await audit('pki.ca.revoke')).at(-1)!;
    // The proposer is the actor; the approvals are structured data in every entry the command wrote.
    expect(revoked.actor).toMatch(new RegExp(`^operator:${people.security!.id} security-admin .*\\)$`));
    expect(revoked.details.approvalChain).toEqual([{ request: id, operator: people.gd!.id, certificate: people.gd!.serial, at: expect.any(String) }]);
    const executed = (await audit('approvals.execute')).at(-1)!;
    expect(executed.details).toMatchObject({ exitCode: 0, approvalChain: [{ request: id, operator: people.gd!.id, certificate: people.gd!.serial }] });

    const replay = await as('gd', ['approvals', 'approve', String(id)]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toContain(`request ${id} is executed: it takes no more decisions`);
    expect((await refusedFor('approvals.approve', 'security')).length).toBe(1);
    expect((await refusedFor('approvals.approve', 'bj')).length).toBe(1);
    expect((await refusedFor('approvals.approve', 'gd')).length).toBe(1);
  }, 60_000);

  it('GIVEN a request WHEN one approver rejects it THEN it ends: a later approval is refused and the command never runs', async () => {
    const id = await propose('gd', ['pki', 'replace-ca', '--ca', 'province-440000-staff']);
    const zh = await runCli(['--lang', 'zh-CN', '--server', url(), '--identity', people.gd!.p12, 'approvals', 'reject', String(id)], { JINBAO_IDENTITY_PASSPHRASE: people.gd!.password, JINBAO_OPERATOR_PASSWORD: people.gd!.login });
    expect(zh.code).toBe(2);
    expect(zh.stderr).toContain(`请求 ${id} 由您提出：提出人不得批准或驳回自己的请求（双人控制）`);
    const rejected = await as('security', ['approvals', 'reject', String(id), '--reason', 'wait for the incident report']);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`request ${id} rejected`);
    const late = await as('security', ['approvals', 'approve', String(id)]);
    expect(late.stderr).toContain(`request ${id} is rejected: it takes no more decisions`);
    expect(await caStatus('province-440000-staff-2')).toBeUndefined();
    expect((await audit('approvals.reject')).at(-1)).toMatchObject({ outcome: 'ok', subject: String(id) });
  }, 60_000);

  it('GIVEN a shorter time limit (itself approved) WHEN an approval comes after it THEN it is refused and the request is marked expired, audited', async () => {
    const proposed = await as('gd', ['approvals', 'policy', '--ttl', '3s']);
    expect(proposed.code).toBe(PENDING);
    const policyId = Number(/^pending approval (\d+):/.exec(proposed.stdout)?.[1]);
    // The approver reads the approved command's output in their own language.
    const inChinese = await as('security', ['--lang', 'zh-CN', 'approvals', 'approve', String(policyId)]);
    expect(inChinese.code).toBe(0);
    expect(inChinese.stdout).toContain(`请求 ${policyId} 已批准：正在执行 approvals policy --ttl 3s`);
    expect(inChinese.stdout).toContain('审批策略：提出人之外需 1 人批准，时限 3 秒');
    expect(JSON.parse((await as('audit', ['approvals', 'policy', '--json'])).stdout)).toMatchObject({ approvers: 1, ttlSeconds: 3 });
    // proposed explicitly this time
    const id = await propose('security', ['approvals', 'request', '--', 'pki', 'replace-ca', '--ca', 'province-440000-staff']);
    expect((JSON.parse((await as('gd', ['approvals', 'show', String(id), '--json'])).stdout) as { argv: string[] }).argv).toEqual(['pki', 'replace-ca', '--ca', 'province-440000-staff', '--json']);
    await new Promise((r) => setTimeout(r, 3_500));
    const late = await as('gd', ['approvals', 'approve', String(id)]);
    expect(late.code).toBe(2);
    expect(late.stderr).toContain(`request ${id} `);
    expect(late.stderr).toMatch(/expired|is expired/);
    expect((await audit('approvals.expire')).map((e) => e.subject)).toContain(String(id));
    expect((await refusedFor('approvals.approve', 'gd')).length).toBe(2);
    expect(await caStatus('province-440000-staff-2')).toBeUndefined();
  }, 60_000);

  it('GIVEN the running service WHEN a provincial administrator seals it THEN refused; the national one seals it: keys dropped, only unsealing answers, 3 shares open it again', async () => {
    const gd = await as('gd', ['seal']);
    expect(gd.code).toBe(2);
    expect(gd.stderr).toContain('sealing the service is for a national security administrator');
    const sealed = await as('security', ['seal']);
    expect(sealed.code).toBe(0);
    expect(sealed.stdout).toContain('sealed: the service dropped its CA keys');
    await waitUntil(() => (bed.stdout.match(/sealed on/g) ?? []).length === 2, 'jinbao serve to seal again', { timeoutMs: 30_000 });
    expect(await get(`${url()}/acme/directory`, bed.root)).toBe(503);
    expect((await unseal([])).stdout).toContain('sealed: 0 of 3 shares in');
    const seal = (await audit('serve.seal')).at(-1)!;
    expect(seal.actor).toContain(`operator:${people.security!.id} security-admin`);
    for (const n of [2, 4]) expect((await unseal(['--share', share(n)])).code).toBe(0);
    expect(await get(`${url()}/acme/directory`, bed.root)).toBe(503);
    expect((await unseal(['--share', share(1)])).stdout).toContain('unsealed');
    await waitUntil(() => (bed.stdout.match(/listening on/g) ?? []).length === 2, 'jinbao serve to start again', { timeoutMs: 60_000 });
    expect((await as('security', ['kpi'])).code).toBe(0);
  }, 90_000);

  it('GIVEN the service\'s local operator WHEN they send SIGUSR2 THEN it seals again, audited as the local operator', async () => {
    bed.serve!.kill('SIGUSR2');
    await waitUntil(() => (bed.stdout.match(/sealed on/g) ?? []).length === 3, 'jinbao serve to seal on SIGUSR2', { timeoutMs: 30_000 });
    expect(await get(`${url()}/acme/directory`, bed.root)).toBe(503);
    expect((await audit('serve.seal')).at(-1)!.actor).toMatch(/^local:.* \(SIGUSR2\)$/);
  }, 60_000);
});
