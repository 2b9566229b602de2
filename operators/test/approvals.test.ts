/**
 * Dual control's rules, pure: which commands wait for approval, and who may decide a request.
 */
import { describe, expect, it } from 'vitest';
import { decisionConflict, dualControlOf, type ApprovalRequest, type Operator } from '../index.js';

const NOW = new Date('2026-12-04T10:00:00Z');

function operator(id: string, o: Partial<Operator> = {}): Operator {
  return { id, staffNumber: `s-${id}`, name: id, role: 'security-admin', scope: null, status: 'active', certificateSerial: `c-${id}`, caId: 'ministry-staff', notAfter: '2027-12-04T00:00:00Z', createdAt: '', updatedAt: '', ...o };
}

function request(o: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 7,
    command: 'pki revoke',
    argv: ['pki', 'revoke', '--ca', 'province-440000-staff', '--reason', 'cACompromise'],
    requiredRole: 'security-admin',
    scope: '440000',
    approvalsNeeded: 1,
    proposer: { id: 'op-a', staffNumber: 's-op-a', actor: 'operator:op-a' },
    status: 'pending',
    createdAt: '2026-12-04T09:00:00Z',
    expiresAt: '2026-12-05T09:00:00Z',
    finishedAt: null,
    exitCode: null,
    decisions: [],
    ...o,
  };
}

describe('which commands are dual-controlled', () => {
  it('GIVEN CA-level and policy-level commands THEN each needs a security administrator\'s approval', () => {
    expect(dualControlOf('pki revoke', ['pki', 'revoke', '--ca', 'x', '--reason', 'cACompromise'])).toEqual({ command: 'pki revoke', requiredRole: 'security-admin' });
    expect(dualControlOf('pki replace-ca', ['pki', 'replace-ca', '--ca', 'x'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('pki rollover-ca', ['pki', 'rollover-ca', '--ca', 'x'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('pki init', ['pki', 'init'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('operator add', ['operator', 'add', '--role', 'audit-admin'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('operator add', ['operator', 'add', '--role=system-admin'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('operator remove', ['operator', 'remove', 'op-1'])).toEqual({ command: 'operator remove', requiredRole: 'security-admin', removes: 'op-1' });
    expect(dualControlOf('approvals policy', ['approvals', 'policy', '--ttl', '1h'])?.requiredRole).toBe('security-admin');
    expect(dualControlOf('approvals policy', ['approvals', 'policy', '--approvers=2'])?.requiredRole).toBe('security-admin');
  });

  it('GIVEN everyday commands THEN none waits', () => {
    expect(dualControlOf('pki revoke', ['pki', 'revoke', '--serial', 'ab', '--reason', 'superseded'])).toBeUndefined();
    expect(dualControlOf('operator add', ['operator', 'add', '--role', 'viewer'])).toBeUndefined();
    expect(dualControlOf('approvals policy', ['approvals', 'policy', '--json'])).toBeUndefined();
    expect(dualControlOf('pki issue', ['pki', 'issue'])).toBeUndefined();
    expect(dualControlOf('acme eab create', ['acme', 'eab', 'create', '--site', '440100'])).toBeUndefined();
  });
});

describe('who may decide a request', () => {
  it('GIVEN another national or Guangdong security administrator within the limit THEN they may', () => {
    expect(decisionConflict(request(), operator('op-b'), NOW)).toBeUndefined();
    expect(decisionConflict(request(), operator('op-gd', { scope: '440000' }), NOW)).toBeUndefined();
  });

  it('GIVEN the proposer, even under another assignment of the same person THEN refused', () => {
    expect(decisionConflict(request(), operator('op-a'), NOW)?.key).toBe('approvals.self');
    expect(decisionConflict(request(), operator('op-a2', { staffNumber: 's-op-a', role: 'viewer' }), NOW)?.key).toBe('approvals.self');
  });

  it('GIVEN a second decision by the same person THEN refused', () => {
    const decided = request({ approvalsNeeded: 2, decisions: [{ operatorId: 'op-b', staffNumber: 's-op-b', actor: 'operator:op-b', certificateSerial: 'c-op-b', decision: 'approve', reason: null, at: '2026-12-04T09:30:00Z' }] });
    expect(decisionConflict(decided, operator('op-b'), NOW)?.key).toBe('approvals.twice');
  });

  it('GIVEN a finished or expired request THEN refused', () => {
    for (const status of ['approved', 'rejected', 'expired', 'executed', 'failed'] as const) expect(decisionConflict(request({ status }), operator('op-b'), NOW)).toEqual({ key: 'approvals.finished', params: { id: '7', status } });
    expect(decisionConflict(request({ expiresAt: '2026-12-04T09:59:59Z' }), operator('op-b'), NOW)?.key).toBe('approvals.expired');
  });

  it('GIVEN the wrong role, another province, or a suspended operator THEN refused', () => {
    expect(decisionConflict(request(), operator('op-s', { role: 'system-admin' }), NOW)).toEqual({ key: 'approvals.role', params: { id: '7', operator: 'op-s', role: 'system-admin', required: 'security-admin' } });
    expect(decisionConflict(request(), operator('op-bj', { scope: '110000' }), NOW)).toEqual({ key: 'approvals.scope', params: { id: '7', operator: 'op-bj', scope: '110000', wanted: '440000' } });
    expect(decisionConflict(request({ scope: null }), operator('op-gd', { scope: '440000' }), NOW)?.key).toBe('approvals.scope');
    expect(decisionConflict(request(), operator('op-b', { status: 'suspended' }), NOW)?.key).toBe('permission.inactive');
  });
});
