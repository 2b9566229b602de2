/**
 * Who may administer jinbao, as data: the roles MLPS 2.0 level 3 asks for and the rules that keep
 * them apart. Pure: the store and the commands call these checks, nothing here touches state.
 *
 * GB/T 22239-2019 8.1.5.1–8.1.5.3 name three administrators (system, audit, security), 8.1.4.2 d)
 * asks for least privilege and separated privileges, 8.1.7.1 c) and 8.1.7.2 for the posts to exist
 * and to be held by different people, the security administrator holding no other post.
 */

export const ROLES = ['system-admin', 'security-admin', 'audit-admin', 'dr-coordinator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** The three administrators of MLPS level 3; one person holds at most one of them. */
export const ADMINISTRATOR_ROLES: readonly Role[] = ['system-admin', 'security-admin', 'audit-admin'];

export type OperatorStatus = 'active' | 'suspended' | 'removed';

export interface Operator {
  readonly id: string;
  readonly staffNumber: string;
  readonly name: string;
  readonly role: Role;
  /** A province's site id; null: the whole nation. */
  readonly scope: string | null;
  readonly status: OperatorStatus;
  /** The operator certificate (staff CA, profile staff-auth). */
  readonly certificateSerial: string;
  readonly caId: string;
  readonly notAfter: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A role assignment being asked for. */
export interface Assignment {
  readonly staffNumber: string;
  readonly name: string;
  readonly role: Role;
  readonly scope: string | null;
}

/** Why an assignment is refused: a catalogue key of operators/locales and its values. */
export interface Conflict {
  readonly key: string;
  readonly params: Readonly<Record<string, string>>;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

const scopeText = (scope: string | null): string => scope ?? 'nation';

/**
 * Whether `wanted` may be added beside the person's current (not removed) assignments; the first
 * rule it breaks, else undefined. Suspended assignments count: a suspension is not a way around
 * the separation.
 */
export function assignmentConflict(current: readonly Operator[], wanted: Assignment): Conflict | undefined {
  const held = current.filter((o) => o.staffNumber === wanted.staffNumber && o.status !== 'removed');
  const named = held.find((o) => o.name !== wanted.name);
  if (named) return { key: 'conflict.name', params: { staffNumber: wanted.staffNumber, name: wanted.name, recorded: named.name, id: named.id } };
  const same = held.find((o) => o.role === wanted.role && o.scope === wanted.scope);
  if (same) return { key: 'conflict.duplicate', params: { staffNumber: wanted.staffNumber, role: wanted.role, scope: scopeText(wanted.scope), id: same.id } };
  const security = held.find((o) => o.role === 'security-admin' && wanted.role !== 'security-admin');
  if (security) return { key: 'conflict.securityHoldsNothingElse', params: { staffNumber: wanted.staffNumber, role: wanted.role, id: security.id } };
  if (wanted.role === 'security-admin') {
    const other = held.find((o) => o.role !== 'security-admin');
    if (other) return { key: 'conflict.securityHoldsNothingElse', params: { staffNumber: wanted.staffNumber, role: other.role, id: other.id } };
  }
  if (ADMINISTRATOR_ROLES.includes(wanted.role)) {
    const admin = held.find((o) => ADMINISTRATOR_ROLES.includes(o.role) && o.role !== wanted.role);
    if (admin) return { key: 'conflict.oneAdministratorRole', params: { staffNumber: wanted.staffNumber, role: wanted.role, held: admin.role, id: admin.id } };
  }
  return undefined;
}

/** How the operators in force cover MLPS's three administrators, for `state status` and `comply`. */
export interface Separation {
  /** No operator in force: the CLI runs as one local operator. */
  readonly localOnly: boolean;
  /** Administrator roles nobody active holds. */
  readonly missingRoles: readonly Role[];
  /** People holding two administrator roles, or the security administrator's post with another (should be none: the rules refuse it). */
  readonly violations: readonly string[];
  readonly active: number;
}

export function separation(operators: readonly Operator[]): Separation {
  const active = operators.filter((o) => o.status === 'active');
  const missingRoles = ADMINISTRATOR_ROLES.filter((r) => !active.some((o) => o.role === r));
  const byPerson = new Map<string, Set<Role>>();
  for (const o of operators.filter((x) => x.status !== 'removed')) byPerson.set(o.staffNumber, (byPerson.get(o.staffNumber) ?? new Set()).add(o.role));
  const violations = [...byPerson].flatMap(([person, roles]) => {
    const admin = [...roles].filter((r) => ADMINISTRATOR_ROLES.includes(r));
    if (admin.length > 1 || (roles.has('security-admin') && roles.size > 1)) return [`${person}: ${[...roles].sort().join(', ')}`];
    return [];
  });
  return { localOnly: active.length === 0, missingRoles, violations, active: active.length };
}
