import { AsyncLocalStorage } from 'node:async_hooks';
import { appendAudit, AUDIT_LOCK, migrateAudit, type ApprovalLink } from '../lib/audit.js';
import type { StateAccess } from '../lib/context.js';
import { inputError } from '../lib/i18n/index.js';
import type { Database, Queryable, SqlMigration, Transaction } from '../lib/sql/index.js';
import { OPERATORS_MESSAGES } from './messages.js';
import { ADMINISTRATOR_ROLES, type Conflict, type Operator, type Role } from './model.js';
import { migrateOperators, readOperator } from './store.js';

/**
 * Dual control (M of N) for CA-level and policy-level operations, as EJBCA's approval profiles do:
 * a command that creates, replaces or revokes a CA, adds or removes an administrator, or changes
 * the approval policy itself does not run when an operator sends it through the service; it
 * becomes a request that other operators of the required role (and a scope covering it) approve
 * within a time limit. The proposer never approves their own; any rejection ends it; the last
 * approval runs it in the service, as the proposer, with the approval chain in its audit entries.
 *
 * State: the `approvals` component of lib/sql (its own migrations; rows never deleted).
 */

export const APPROVALS_COMPONENT = 'approvals';
const APPROVALS_LOCK = 'approvals';

export const APPROVAL_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'approvals: dual-control requests, their decisions and the approval policy',
    up: `
      CREATE TABLE approval_requests (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        argv TEXT NOT NULL,
        required_role TEXT NOT NULL,
        scope TEXT,
        approvals_needed INTEGER NOT NULL,
        proposer_id TEXT NOT NULL,
        proposer_staff_number TEXT NOT NULL,
        proposer_actor TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        finished_at TEXT,
        exit_code INTEGER
      );
      CREATE TABLE approval_decisions (
        request_id INTEGER NOT NULL REFERENCES approval_requests (id),
        operator_id TEXT NOT NULL,
        staff_number TEXT NOT NULL,
        actor TEXT NOT NULL,
        certificate_serial TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (request_id, operator_id)
      );
      CREATE TABLE approval_policy (
        version INTEGER PRIMARY KEY,
        approvers INTEGER NOT NULL,
        ttl_seconds INTEGER NOT NULL,
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL
      );`,
  },
];

export interface ApprovalPolicy {
  /** Approvals needed besides the proposer's own proposal (1: dual control). */
  readonly approvers: number;
  /** How long a request waits for its approvals. */
  readonly ttlSeconds: number;
  /** Null: the built-in default, never set. */
  readonly setAt: string | null;
  readonly setBy: string | null;
}

export const DEFAULT_POLICY: ApprovalPolicy = { approvers: 1, ttlSeconds: 24 * 3600, setAt: null, setBy: null };

export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'failed';

export interface Decision {
  readonly operatorId: string;
  readonly staffNumber: string;
  readonly actor: string;
  readonly certificateSerial: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly at: string;
}

export interface ApprovalRequest {
  readonly id: number;
  readonly command: string;
  /** The command line as the proposer sent it (without the service's own global options). */
  readonly argv: readonly string[];
  readonly requiredRole: Role;
  /** The province the request acts in; null: the nation (only national approvers cover it). */
  readonly scope: string | null;
  readonly approvalsNeeded: number;
  readonly proposer: { readonly id: string; readonly staffNumber: string; readonly actor: string };
  readonly status: RequestStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly decisions: readonly Decision[];
}

/** An authenticated operator, as the service saw them: the record and how the audit log names them. */
export interface Acting {
  readonly operator: Operator;
  readonly actor: string;
}

const operatorScope = new AsyncLocalStorage<Acting>();

/** Run `fn` as `acting` (the service runs an authenticated operator's command this way). */
export function asOperator<T>(acting: Acting, fn: () => Promise<T>): Promise<T> {
  return operatorScope.run(acting, fn);
}

/** The operator the running command was sent by, through the service; undefined on the local CLI. */
export function currentOperator(): Acting | undefined {
  return operatorScope.getStore();
}

// ---- which commands are dual-controlled (pure) ----

function optionValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i]!.startsWith(`${name}=`)) return argv[i]!.slice(name.length + 1);
  }
  return undefined;
}

/** What a dual-controlled command needs: the role of its approvers. */
export interface DualControl {
  readonly command: string;
  readonly requiredRole: Role;
  /** The operator `operator remove` names, when its role decides (looked up by the caller). */
  readonly removes?: string;
}

/**
 * Whether `command` (its path, e.g. `pki revoke`) with the options in `rest` is a CA-level or
 * policy-level operation: creating (pki init), replacing (pki replace-ca) or rolling over (pki rollover-ca) a CA, revoking one
 * (pki revoke --ca), adding an administrator (operator add --role *-admin), removing an operator
 * (an administrator: the caller checks the role), changing the approval policy.
 */
export function dualControlOf(command: string, rest: readonly string[]): DualControl | undefined {
  const security = (removes?: string): DualControl => ({ command, requiredRole: 'security-admin', ...(removes ? { removes } : {}) });
  switch (command) {
    case 'pki init':
    case 'pki replace-ca':
    case 'pki rollover-ca':
      return security();
    case 'pki revoke':
      return optionValue(rest, '--ca') !== undefined ? security() : undefined;
    case 'operator add': {
      const role = optionValue(rest, '--role');
      return role !== undefined && (ADMINISTRATOR_ROLES as readonly string[]).includes(role) ? security() : undefined;
    }
    case 'operator remove': {
      const i = rest.indexOf('remove');
      const id = rest.slice(i + 1).find((a) => !a.startsWith('-'));
      return id ? security(id) : undefined;
    }
    case 'approvals policy':
      return rest.some((a) => /^--(approvers|ttl)(=|$)/.test(a)) ? security() : undefined;
    default:
      return undefined;
  }
}

/** Why `approver` may not decide `r` at `now`; undefined: they may. Pure. */
export function decisionConflict(r: ApprovalRequest, approver: Operator, now: Date): Conflict | undefined {
  const id = String(r.id);
  if (r.status !== 'pending') return { key: 'approvals.finished', params: { id, status: r.status } };
  if (now.getTime() > Date.parse(r.expiresAt)) return { key: 'approvals.expired', params: { id, expiresAt: r.expiresAt } };
  if (approver.id === r.proposer.id || approver.staffNumber === r.proposer.staffNumber) return { key: 'approvals.self', params: { id } };
  if (r.decisions.some((d) => d.operatorId === approver.id || d.staffNumber === approver.staffNumber)) return { key: 'approvals.twice', params: { id, operator: approver.id } };
  if (approver.status !== 'active') return { key: 'permission.inactive', params: { id: approver.id, role: approver.role, status: approver.status } };
  if (approver.role !== r.requiredRole) return { key: 'approvals.role', params: { id, operator: approver.id, role: approver.role, required: r.requiredRole } };
  if (approver.scope !== null && approver.scope !== r.scope) return { key: 'approvals.scope', params: { id, operator: approver.id, scope: approver.scope, wanted: r.scope ?? 'nation' } };
  return undefined;
}

// ---- store ----

interface RequestRow {
  id: number;
  command: string;
  argv: string;
  required_role: string;
  scope: string | null;
  approvals_needed: number;
  proposer_id: string;
  proposer_staff_number: string;
  proposer_actor: string;
  status: string;
  created_at: string;
  expires_at: string;
  finished_at: string | null;
  exit_code: number | null;
}

interface DecisionRow {
  request_id: number;
  operator_id: string;
  staff_number: string;
  actor: string;
  certificate_serial: string;
  decision: string;
  reason: string | null;
  at: string;
}

export async function migrateApprovals(db: Database): Promise<void> {
  await migrateAudit(db);
  await migrateOperators(db);
  await db.migrate(APPROVALS_COMPONENT, APPROVAL_MIGRATIONS);
}

async function readRequests(q: Queryable, where: { id?: number; status?: RequestStatus } = {}): Promise<ApprovalRequest[]> {
  const rows =
    where.id !== undefined ? await q.query<RequestRow>('SELECT * FROM approval_requests WHERE id = $1', [where.id])
    : where.status !== undefined ? await q.query<RequestRow>('SELECT * FROM approval_requests WHERE status = $1 ORDER BY id', [where.status])
    : await q.query<RequestRow>('SELECT * FROM approval_requests ORDER BY id');
  const decisions = rows.length === 0 ? [] : await q.query<DecisionRow>('SELECT * FROM approval_decisions ORDER BY at, operator_id');
  return rows.map((r) => ({
    id: Number(r.id),
    command: r.command,
    argv: JSON.parse(r.argv) as string[],
    requiredRole: r.required_role as Role,
    scope: r.scope,
    approvalsNeeded: Number(r.approvals_needed),
    proposer: { id: r.proposer_id, staffNumber: r.proposer_staff_number, actor: r.proposer_actor },
    status: r.status as RequestStatus,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    finishedAt: r.finished_at,
    exitCode: r.exit_code === null ? null : Number(r.exit_code),
    decisions: decisions
      .filter((d) => Number(d.request_id) === Number(r.id))
      .map((d) => ({ operatorId: d.operator_id, staffNumber: d.staff_number, actor: d.actor, certificateSerial: d.certificate_serial, decision: d.decision as 'approve' | 'reject', reason: d.reason, at: d.at })),
  }));
}

async function readPolicy(q: Queryable): Promise<ApprovalPolicy> {
  const [p] = await q.query<{ approvers: number; ttl_seconds: number; set_at: string; set_by: string }>('SELECT * FROM approval_policy ORDER BY version DESC LIMIT 1');
  return p ? { approvers: Number(p.approvers), ttlSeconds: Number(p.ttl_seconds), setAt: p.set_at, setBy: p.set_by } : DEFAULT_POLICY;
}

const write = <T>(db: Database, fn: (tx: Transaction) => Promise<T>) => db.write(fn, { locks: [APPROVALS_LOCK, AUDIT_LOCK] });

/** Mark pending requests past their limit expired, each audited. */
async function expireOverdue(tx: Transaction, now: Date): Promise<void> {
  for (const r of await readRequests(tx, { status: 'pending' })) {
    if (now.getTime() <= Date.parse(r.expiresAt)) continue;
    await tx.run('UPDATE approval_requests SET status = $1, finished_at = $2 WHERE id = $3', ['expired', now.toISOString(), r.id]);
    await appendAudit(tx, { action: 'approvals.expire', outcome: 'ok', subject: String(r.id), actor: 'jinbao-serve', details: { command: r.command, argv: r.argv, proposer: r.proposer.actor, expiresAt: r.expiresAt, approvals: r.decisions.length, needed: r.approvalsNeeded } });
  }
}

async function opened(state: StateAccess, now: Date): Promise<Database> {
  const db = await state.database();
  await migrateApprovals(db);
  await write(db, (tx) => expireOverdue(tx, now));
  return db;
}

// ---- operations ----

export async function approvalPolicy(state: StateAccess): Promise<ApprovalPolicy> {
  if (!state.hasStore()) return DEFAULT_POLICY;
  const db = await state.database();
  await migrateApprovals(db);
  return readPolicy(db);
}

/** Set the approval policy (a dual-controlled command: it runs once approved). */
export async function setApprovalPolicy(state: StateAccess, p: { approvers?: number; ttlSeconds?: number; actor: string; now?: Date }): Promise<ApprovalPolicy> {
  if (p.approvers !== undefined && (!Number.isInteger(p.approvers) || p.approvers < 1 || p.approvers > 9)) throw inputError(OPERATORS_MESSAGES, 'approvals.badApprovers', { approvers: String(p.approvers) });
  const db = await state.database();
  await migrateApprovals(db);
  const now = p.now ?? new Date();
  return write(db, async (tx) => {
    const before = await readPolicy(tx);
    const next: ApprovalPolicy = { approvers: p.approvers ?? before.approvers, ttlSeconds: p.ttlSeconds ?? before.ttlSeconds, setAt: now.toISOString(), setBy: p.actor };
    const [v] = await tx.query<{ v: number | null }>('SELECT MAX(version) AS v FROM approval_policy');
    await tx.run('INSERT INTO approval_policy (version, approvers, ttl_seconds, set_at, set_by) VALUES ($1, $2, $3, $4, $5)', [Number(v?.v ?? 0) + 1, next.approvers, next.ttlSeconds, next.setAt, next.setBy]);
    await appendAudit(tx, { action: 'approvals.policy', outcome: 'ok', subject: 'policy', actor: p.actor, details: { approvers: next.approvers, ttlSeconds: next.ttlSeconds, before: { approvers: before.approvers, ttlSeconds: before.ttlSeconds } } });
    return next;
  });
}

/**
 * Record a dual-controlled command as a pending request proposed by `by`; audited. The caller has
 * already checked that the proposer may run the command itself.
 */
export async function proposeRequest(state: StateAccess, r: { by: Acting; argv: readonly string[]; control: DualControl; scope: string | null; now?: Date }): Promise<ApprovalRequest> {
  const now = r.now ?? new Date();
  const db = await opened(state, now);
  return write(db, async (tx) => {
    const policy = await readPolicy(tx);
    const [m] = await tx.query<{ id: number | null }>('SELECT MAX(id) AS id FROM approval_requests');
    const id = Number(m?.id ?? 0) + 1;
    const expiresAt = new Date(now.getTime() + policy.ttlSeconds * 1000).toISOString();
    const o = r.by.operator;
    await tx.run(
      'INSERT INTO approval_requests (id, command, argv, required_role, scope, approvals_needed, proposer_id, proposer_staff_number, proposer_actor, status, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
      [id, r.control.command, JSON.stringify(r.argv), r.control.requiredRole, r.scope, policy.approvers, o.id, o.staffNumber, r.by.actor, 'pending', now.toISOString(), expiresAt],
    );
    await appendAudit(tx, { action: 'approvals.request', outcome: 'ok', subject: String(id), actor: r.by.actor, details: { command: r.control.command, argv: [...r.argv], requiredRole: r.control.requiredRole, scope: r.scope ?? 'nation', approvalsNeeded: policy.approvers, expiresAt } });
    return (await readRequests(tx, { id }))[0]!;
  });
}

export async function listRequests(state: StateAccess, opts: { all?: boolean; now?: Date } = {}): Promise<ApprovalRequest[]> {
  if (!state.hasStore()) return [];
  const db = await opened(state, opts.now ?? new Date());
  const all = await readRequests(db);
  return opts.all ? all : all.filter((r) => r.status === 'pending');
}

export async function showRequest(state: StateAccess, id: number, now = new Date()): Promise<ApprovalRequest> {
  const db = await opened(state, now);
  const [r] = await readRequests(db, { id });
  if (!r) throw inputError(OPERATORS_MESSAGES, 'approvals.unknown', { id: String(id) });
  return r;
}

/**
 * Approve or reject request `id` as `by`. Every refusal (self-approval, a second decision, a
 * finished or expired request, the wrong role or scope) changes nothing and is audited with who
 * asked. An approval that completes the request marks it approved and returns `ready`: the caller
 * runs the command and reports with `finishRequest`.
 */
export async function decideRequest(state: StateAccess, r: { id: number; by: Acting | undefined; decision: 'approve' | 'reject'; reason?: string; now?: Date }): Promise<{ request: ApprovalRequest; ready: boolean }> {
  const now = r.now ?? new Date();
  const action = `approvals.${r.decision}`;
  const db = await state.database();
  await migrateApprovals(db);
  const outcome = await write(db, async (tx) => {
    const refused = async (c: Conflict, actor: string) => {
      await appendAudit(tx, { action, outcome: 'refused', subject: String(r.id), actor, details: { reason: inputError(OPERATORS_MESSAGES, c.key, c.params).message } });
      return { refused: c } as const;
    };
    if (!r.by) return refused({ key: 'approvals.needsOperator', params: {} }, 'local');
    const [request] = await readRequests(tx, { id: r.id });
    if (!request) return refused({ key: 'approvals.unknown', params: { id: String(r.id) } }, r.by.actor);
    // The record as it is now (a suspension since the connection opened counts).
    const approver = (await readOperator(tx, r.by.operator.id)) ?? r.by.operator;
    const proposer = await readOperator(tx, request.proposer.id);
    const conflict = decisionConflict(request, approver, now) ?? (r.decision === 'approve' && proposer && proposer.status !== 'active' ? { key: 'approvals.proposerInactive', params: { id: String(request.id), proposer: proposer.id, status: proposer.status } } : undefined);
    if (conflict) {
      if (conflict.key === 'approvals.expired') await expireOverdue(tx, now);
      return refused(conflict, r.by.actor);
    }
    await tx.run(
      'INSERT INTO approval_decisions (request_id, operator_id, staff_number, actor, certificate_serial, decision, reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [request.id, approver.id, approver.staffNumber, r.by.actor, approver.certificateSerial, r.decision, r.reason ?? null, now.toISOString()],
    );
    const approvals = request.decisions.filter((d) => d.decision === 'approve').length + (r.decision === 'approve' ? 1 : 0);
    const status: RequestStatus = r.decision === 'reject' ? 'rejected' : approvals >= request.approvalsNeeded ? 'approved' : 'pending';
    if (status !== 'pending') await tx.run('UPDATE approval_requests SET status = $1, finished_at = $2 WHERE id = $3', [status, now.toISOString(), request.id]);
    await appendAudit(tx, { action, outcome: 'ok', subject: String(request.id), actor: r.by.actor, details: { command: request.command, argv: [...request.argv], proposer: request.proposer.actor, approvals, needed: request.approvalsNeeded, status, ...(r.reason ? { reason: r.reason } : {}) } });
    return { request: (await readRequests(tx, { id: request.id }))[0]!, ready: status === 'approved' };
  });
  if ('refused' in outcome) throw inputError(OPERATORS_MESSAGES, outcome.refused.key, outcome.refused.params);
  return outcome;
}

/**
 * The approvals an approved command runs with: every audit entry it records names them in
 * `details.approvalChain`, its actor being the proposer's.
 */
export function approvalChain(r: ApprovalRequest): ApprovalLink[] {
  return r.decisions.filter((d) => d.decision === 'approve').map((d) => ({ request: r.id, operator: d.operatorId, certificate: d.certificateSerial, at: d.at }));
}

/** Record how the approved command ended; audited with the approval chain. */
export async function finishRequest(state: StateAccess, r: ApprovalRequest, exitCode: number, now = new Date()): Promise<void> {
  const db = await state.database();
  await write(db, async (tx) => {
    await tx.run('UPDATE approval_requests SET status = $1, exit_code = $2, finished_at = $3 WHERE id = $4', [exitCode === 0 ? 'executed' : 'failed', exitCode, now.toISOString(), r.id]);
    await appendAudit(tx, {
      action: 'approvals.execute',
      outcome: 'ok',
      subject: String(r.id),
      actor: r.proposer.actor,
      details: { command: r.command, argv: [...r.argv], exitCode, approvalChain: approvalChain(r) },
    });
  });
}

/** The role of the operator `operator remove` names (administrators' removal is dual-controlled). */
export async function roleOf(state: StateAccess, id: string): Promise<Role | undefined> {
  const db = await state.database();
  await migrateOperators(db);
  return (await readOperator(db, id))?.role;
}
