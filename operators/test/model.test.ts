import { describe, expect, it } from 'vitest';
import { assignmentConflict, separation, type Operator, type Role } from '../index.js';

const op = (id: string, staffNumber: string, role: Role, extra: Partial<Operator> = {}): Operator => ({
  id,
  staffNumber,
  name: `name-${staffNumber}`,
  role,
  scope: null,
  status: 'active',
  certificateSerial: `serial-${id}`,
  caId: 'ministry-staff',
  notAfter: '2027-12-04T00:00:00.000Z',
  createdAt: '2026-12-04T00:00:00.000Z',
  updatedAt: '2026-12-04T00:00:00.000Z',
  ...extra,
});
const want = (staffNumber: string, role: Role, scope: string | null = null) => ({ staffNumber, name: `name-${staffNumber}`, role, scope });

describe('the role rules (MLPS 8.1.5, 8.1.7.2)', () => {
  it('GIVEN nobody yet THEN any role may be given', () => {
    for (const role of ['system-admin', 'security-admin', 'audit-admin', 'dr-coordinator', 'viewer'] as const) expect(assignmentConflict([], want('1001', role))).toBeUndefined();
  });

  it('GIVEN a system administrator THEN the same person cannot become the audit or the security administrator, but may coordinate drills', () => {
    const held = [op('op-1', '1001', 'system-admin')];
    expect(assignmentConflict(held, want('1001', 'audit-admin'))).toEqual({ key: 'conflict.oneAdministratorRole', params: { staffNumber: '1001', role: 'audit-admin', held: 'system-admin', id: 'op-1' } });
    expect(assignmentConflict(held, want('1001', 'security-admin'))?.key).toBe('conflict.securityHoldsNothingElse');
    expect(assignmentConflict(held, want('1001', 'dr-coordinator'))).toBeUndefined();
    expect(assignmentConflict(held, want('1002', 'audit-admin'))).toBeUndefined();
  });

  it('GIVEN a security administrator THEN the same person holds no other role, not even viewer; another province of the same post is allowed', () => {
    const held = [op('op-1', '1001', 'security-admin', { scope: '440000' })];
    expect(assignmentConflict(held, want('1001', 'viewer'))).toEqual({ key: 'conflict.securityHoldsNothingElse', params: { staffNumber: '1001', role: 'viewer', id: 'op-1' } });
    expect(assignmentConflict(held, want('1001', 'security-admin', '450000'))).toBeUndefined();
    expect(assignmentConflict(held, want('1001', 'security-admin', '440000'))?.key).toBe('conflict.duplicate');
  });

  it('GIVEN a viewer WHEN the person is to become security administrator THEN the viewer role is in the way', () => {
    expect(assignmentConflict([op('op-1', '1001', 'viewer')], want('1001', 'security-admin'))).toEqual({ key: 'conflict.securityHoldsNothingElse', params: { staffNumber: '1001', role: 'viewer', id: 'op-1' } });
  });

  it('GIVEN a suspended administrator THEN the post still counts; GIVEN a removed one THEN it does not', () => {
    expect(assignmentConflict([op('op-1', '1001', 'audit-admin', { status: 'suspended' })], want('1001', 'system-admin'))?.key).toBe('conflict.oneAdministratorRole');
    expect(assignmentConflict([op('op-1', '1001', 'audit-admin', { status: 'removed' })], want('1001', 'system-admin'))).toBeUndefined();
  });

  it('GIVEN a staff number recorded under another name THEN it is refused: one number is one person', () => {
    expect(assignmentConflict([op('op-1', '1001', 'viewer')], { ...want('1001', 'dr-coordinator'), name: 'someone else' })?.key).toBe('conflict.name');
  });
});

describe('separation of the three administrators', () => {
  it('GIVEN no operators THEN the CLI is one local operator and every post is missing', () => {
    expect(separation([])).toEqual({ localOnly: true, missingRoles: ['system-admin', 'security-admin', 'audit-admin'], violations: [], active: 0 });
  });

  it('GIVEN three people in the three posts THEN nothing is missing; a suspended one leaves the post empty', () => {
    const three = [op('a', '1', 'system-admin'), op('b', '2', 'security-admin'), op('c', '3', 'audit-admin')];
    expect(separation(three)).toEqual({ localOnly: false, missingRoles: [], violations: [], active: 3 });
    expect(separation([...three.slice(0, 2), { ...three[2]!, status: 'suspended' }]).missingRoles).toEqual(['audit-admin']);
  });

  it('GIVEN records that break the rules (written around them) THEN the person is named', () => {
    expect(separation([op('a', '1', 'system-admin'), op('b', '1', 'audit-admin')]).violations).toEqual(['1: audit-admin, system-admin']);
    expect(separation([op('a', '1', 'security-admin'), op('b', '1', 'viewer')]).violations).toEqual(['1: security-admin, viewer']);
  });
});
