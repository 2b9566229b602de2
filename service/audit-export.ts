import type { AuditEntry } from '../lib/audit.js';
import { parseOperatorActor } from './admin.js';

/**
 * The audit log as auditors read it (MLPS 8.1.4.3 b: date and time, user, event type, outcome):
 * each entry with the operator it names (id, certificate subject and serial, role, scope), the
 * client's address and the approval chain when the entry carries one. Pure.
 */
export interface AuditRecord {
  readonly seq: number;
  readonly time: string;
  /** Empty for entries not made by an operator through the service (the local CLI, the service itself). */
  readonly operatorId: string;
  readonly operatorSubject: string;
  readonly certificateSerial: string;
  readonly role: string;
  /** A province, `nation`, or empty when no operator acted. */
  readonly scope: string;
  readonly sourceAddress: string;
  readonly eventType: string;
  readonly outcome: string;
  readonly subject: string;
  /** `details.approvalChain` of the entry (dual control), as JSON text when structured; empty when absent. */
  readonly approvalChain: string;
  /** Why, for a refusal (`details.reason`). */
  readonly reason: string;
  /** The entry's actor as recorded (a local user name when no operator acted). */
  readonly actor: string;
}

const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

export function auditRecord(e: AuditEntry): AuditRecord {
  // Entries of a command run after dual control name the approvals in details.approvalChain; logs
  // written before that carried them in the actor (`<proposer>; approval N by operator:… (certificate
  // …) at …`) and, for approvals.execute, in details.chain. The log is append-only: read all three.
  const [proposer = e.actor, approvedBy] = e.actor.split(/; (?=approval \d+ by )/);
  const op = parseOperatorActor(proposer);
  // a certificate that belongs to no operator (refused): `certificate SERIAL (SUBJECT)`
  const stranger = op ? undefined : /^certificate ([0-9a-f]+) \((.*)\)$/.exec(proposer);
  const d = e.details;
  return {
    seq: e.seq,
    time: e.at,
    operatorId: op?.id ?? '',
    operatorSubject: op?.subject ?? stranger?.[2] ?? '',
    certificateSerial: op?.certificateSerial ?? stranger?.[1] ?? '',
    role: op?.role ?? '',
    scope: op ? (op.scope ?? 'nation') : '',
    sourceAddress: text(d.remote),
    eventType: e.action,
    outcome: e.outcome,
    subject: e.subject,
    approvalChain: text(d.approvalChain ?? d.chain ?? approvedBy),
    reason: text(d.reason),
    actor: e.actor,
  };
}

const COLUMNS: readonly [string, keyof AuditRecord][] = [
  ['seq', 'seq'],
  ['time', 'time'],
  ['operator_id', 'operatorId'],
  ['operator_subject', 'operatorSubject'],
  ['certificate_serial', 'certificateSerial'],
  ['role', 'role'],
  ['scope', 'scope'],
  ['source_address', 'sourceAddress'],
  ['event_type', 'eventType'],
  ['outcome', 'outcome'],
  ['subject', 'subject'],
  ['approval_chain', 'approvalChain'],
  ['reason', 'reason'],
  ['actor', 'actor'],
];

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
 * A field a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return:
 * the subject of a refused command is whatever the client sent) is prefixed with an apostrophe.
 */
export function csvField(value: string | number): string {
  let v = String(value);
  if (/^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A header line and one line per record, CRLF line ends (RFC 4180). */
export function auditCsv(records: readonly AuditRecord[]): string {
  const lines = [COLUMNS.map(([h]) => h).join(','), ...records.map((r) => COLUMNS.map(([, k]) => csvField(r[k])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
