/**
 * The `approvals` component on both state backends: a request proposed, refused decisions audited
 * with who tried and changing nothing, the last approval marking it approved once, its end recorded
 * with the approval chain, expiry marked and audited, the policy kept.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../lib/audit.js';
import { resolveState } from '../../lib/state.js';
import { stateBackends } from '../../lib/test/state-backends.js';
import { LocalOpsContext } from '../../orchestration/index.js';
import { insertOperator, migrateOperators } from '../store.js';
import { approvalPolicy, decideRequest, finishRequest, listRequests, proposeRequest, setApprovalPolicy, showRequest, type Acting, type Operator } from '../index.js';

const backends = stateBackends('jinbao-approvals-');
const T0 = new Date('2026-12-04T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function acting(id: string, o: Partial<Operator> = {}): Acting {
  const operator: Operator = { id, staffNumber: `s-${id}`, name: id, role: 'security-admin', scope: null, status: 'active', certificateSerial: `c-${id}`, caId: 'ministry-staff', notAfter: '2027-12-04T00:00:00Z', createdAt: '', updatedAt: '', ...o };
  return { operator, actor: `operator:${id}` };
}

describe.each(backends)('approvals on $name', ({ skip, fresh }) => {
  const contexts: LocalOpsContext[] = [];
  afterAll(async () => {
    for (const c of contexts) await c.close();
  });
  const open = async () => {
    const ctx = new LocalOpsContext({ state: resolveState(await fresh(), {}) });
    contexts.push(ctx);
    return ctx;
  };
  const control = { command: 'pki revoke', requiredRole: 'security-admin' as const };
  const argv = ['pki', 'revoke', '--ca', 'province-440000-staff', '--reason', 'cACompromise'];

  it.skipIf(skip)('GIVEN a request WHEN the proposer, then another, then a replay decide THEN only the other counts, refusals are audited, the end records the chain', async () => {
    const ctx = await open();
    const r = await proposeRequest(ctx, { by: acting('op-a'), argv, control, scope: '440000', now: T0 });
    expect(r).toMatchObject({ id: 1, status: 'pending', approvalsNeeded: 1, expiresAt: '2026-12-05T10:00:00.000Z', argv });
    await expect(decideRequest(ctx, { id: 1, by: acting('op-a'), decision: 'approve', now: at(1) })).rejects.toThrow('request 1 is yours');
    await expect(decideRequest(ctx, { id: 1, by: undefined, decision: 'approve', now: at(1) })).rejects.toThrow('deciding a request needs an operator identity');
    expect((await showRequest(ctx, 1, at(2))).decisions).toEqual([]);
    const ok = await decideRequest(ctx, { id: 1, by: acting('op-gd', { scope: '440000' }), decision: 'approve', now: at(3) });
    expect(ok.ready).toBe(true);
    expect(ok.request.status).toBe('approved');
    await expect(decideRequest(ctx, { id: 1, by: acting('op-b'), decision: 'approve', now: at(4) })).rejects.toThrow('request 1 is approved: it takes no more decisions');
    await finishRequest(ctx, ok.request, 0, at(5));
    expect((await showRequest(ctx, 1, at(6))).status).toBe('executed');
    const log = await readAudit(await ctx.database(), { action: 'approvals.' });
    expect(log.map((e) => [e.action, e.outcome, e.actor])).toEqual([
      ['approvals.request', 'ok', 'operator:op-a'],
      ['approvals.approve', 'refused', 'operator:op-a'],
      ['approvals.approve', 'refused', 'local'],
      ['approvals.approve', 'ok', 'operator:op-gd'],
      ['approvals.approve', 'refused', 'operator:op-b'],
      ['approvals.execute', 'ok', 'operator:op-a'],
    ]);
    expect(log.at(-1)!.details).toMatchObject({ exitCode: 0, approvalChain: [{ request: 1, operator: 'op-gd', certificate: 'c-op-gd', at: at(3).toISOString() }] });
  });

  it.skipIf(skip)('GIVEN a policy of 2 approvers and 60 s WHEN time passes THEN the request is marked expired and audited; a rejection ends another at once', async () => {
    const ctx = await open();
    expect(await approvalPolicy(ctx)).toMatchObject({ approvers: 1, ttlSeconds: 86_400, setBy: null });
    await setApprovalPolicy(ctx, { approvers: 2, ttlSeconds: 60, actor: 'operator:op-a; approval 1 by …', now: T0 });
    expect(await approvalPolicy(ctx)).toMatchObject({ approvers: 2, ttlSeconds: 60 });
    const r = await proposeRequest(ctx, { by: acting('op-a'), argv, control, scope: null, now: T0 });
    expect((await decideRequest(ctx, { id: r.id, by: acting('op-b'), decision: 'approve', now: at(10) })).ready).toBe(false);
    await expect(decideRequest(ctx, { id: r.id, by: acting('op-c'), decision: 'approve', now: at(61) })).rejects.toThrow(`request ${r.id} expired at 2026-12-04T10:01:00.000Z`);
    expect((await showRequest(ctx, r.id, at(62))).status).toBe('expired');
    expect((await readAudit(await ctx.database(), { action: 'approvals.expire' })).map((e) => e.subject)).toEqual([String(r.id)]);
    const second = await proposeRequest(ctx, { by: acting('op-a'), argv, control, scope: null, now: at(100) });
    await decideRequest(ctx, { id: second.id, by: acting('op-b'), decision: 'reject', reason: 'not now', now: at(101) });
    expect((await listRequests(ctx, { now: at(102) })).map((x) => x.id)).toEqual([]);
    expect((await listRequests(ctx, { all: true, now: at(102) })).map((x) => x.status)).toEqual(['expired', 'rejected']);
  });

  it.skipIf(skip)('GIVEN a proposer suspended since proposing THEN an approval is refused (the command would run as them) while a rejection still ends it', async () => {
    const ctx = await open();
    const db = await ctx.database();
    await migrateOperators(db);
    const proposer = acting('op-p');
    await db.write((tx) => insertOperator(tx, { ...proposer.operator, status: 'suspended' }));
    const r = await proposeRequest(ctx, { by: proposer, argv, control, scope: null, now: T0 });
    await expect(decideRequest(ctx, { id: r.id, by: acting('op-b'), decision: 'approve', now: at(1) })).rejects.toThrow(`request ${r.id} was proposed by operator op-p, who is now suspended: it cannot run`);
    expect((await decideRequest(ctx, { id: r.id, by: acting('op-b'), decision: 'reject', now: at(2) })).request.status).toBe('rejected');
  });
});
