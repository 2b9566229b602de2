import type { Said } from './message.js';
import type { Fabric, Indicator, Site, StaffBreakdown } from '../fabric/index.js';
import type { Finding, Inspects, Provenance } from './model.js';

/**
 * Everything the checks read, gathered once by a thin adapter (see compliance/gather.ts).
 * Each feature's part is optional: when absent, its controls report "not-run" with `missing[feature]`
 * as the reason, never "pass".
 */
export interface ComplianceInputs {
  readonly fabric: Fabric;
  /** The moment the run judges ages and expiry against. */
  readonly now: Date;
  /** The plan's indicators, `computeKpis(fabric, liveFacts)`. */
  readonly indicators: readonly Indicator[];
  /** The staff indicator per province, `staffByProvince(fabric, liveFacts)`; absent while the indicator needs state. */
  readonly staffByProvince?: StaffBreakdown;
  readonly stacks?: StacksEvidence;
  readonly pki?: PkiEvidence;
  readonly audit?: AuditEvidence;
  readonly operators?: OperatorEvidence;
  readonly drills?: DrillEvidence;
  readonly wan?: WanEvidence;
  readonly monitoring?: MonitoringEvidence;
  /** Why a feature's evidence is absent ("needs pki: run jinbao pki init"). */
  readonly missing?: Readonly<Partial<Record<Inspects, string | Said>>>;
}

/** A Kubernetes object as the stacks render it; checks read only these fields. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: unknown;
  readonly rules?: readonly { readonly apiGroups?: readonly string[]; readonly resources?: readonly string[]; readonly verbs: readonly string[] }[];
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

/** The synthesized objects of each site's standardized data center. */
export interface StacksEvidence {
  readonly objectsBySite: ReadonlyMap<string, readonly KubeObject[]>;
  /** Where the objects came from (for evidence lines). */
  readonly origin: string;
}

export type PkiAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'rsa-3072' | 'sm2' | string;

export interface AuthorityEvidence {
  readonly id: string;
  readonly algorithm: PkiAlgorithm;
  /** Parent CA id; absent for a root. */
  readonly parent?: string;
  readonly notAfter: Date;
  readonly status: string;
}

export interface CertificateEvidence {
  readonly serial: string;
  readonly profile: string;
  readonly subject: string;
  readonly site?: string;
  readonly caId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** 'active' | 'revoked' | ... as the PKI records it. */
  readonly status: string;
}

export interface PkiEvidence {
  /** `demo` for the hierarchy `jinbao up` creates with its passphrase stored beside the keys; `observed` for a production one. */
  readonly provenance: Extract<Provenance, 'demo' | 'observed'>;
  /** Why, in words (the passphrase file, or its absence). */
  readonly provenanceDetail: string;
  readonly authorities: readonly AuthorityEvidence[];
  readonly certificates: readonly CertificateEvidence[];
  /** Optional PEM material for checks that run `openssl verify` (an SM2 chain with its leaf). */
  readonly sm2Chain?: { readonly rootPem: string; readonly intermediatesPem: string; readonly leafPem: string };
}

export interface AuditEvidence {
  /** The hash chain verifies end to end. */
  readonly verified: boolean;
  /** When it does not: the first broken entry, as the verifier names it. */
  readonly firstBroken?: string;
  readonly entries: number;
  /** Time of the oldest record still held. */
  readonly oldestAt?: Date;
  /** True when the chain still starts at its genesis record (nothing was ever pruned). */
  readonly genesisRetained: boolean;
  /** Configured retention, days; absent means "kept forever". */
  readonly retentionDays?: number;
  /** The triggers refusing UPDATE and DELETE of audit records are in the state database; absent: not read. */
  readonly appendOnly?: boolean;
}

/** jinbao's own operators (operators/): how they cover MLPS level 3's three administrators. */
export interface OperatorEvidence {
  /** No operator is in force: the CLI acts as one local operator holding every privilege. */
  readonly localOnly: boolean;
  readonly active: number;
  /** Administrator roles (system-admin, security-admin, audit-admin) no active operator holds. */
  readonly missingRoles: readonly string[];
  /** People holding two administrator roles, or the security administrator's post beside another. */
  readonly violations: readonly string[];
  /** Active administrators (the three posts) and those of them without a service password; absent: not read. */
  readonly secondFactor?: { readonly administrators: number; readonly without: readonly string[] };
  /** The dual-control policy (operators/approvals.ts): approvals needed besides the proposer, the time limit. */
  readonly approvalPolicy?: { readonly approvers: number; readonly ttlSeconds: number; readonly setBy: string | null };
}

export interface DrillRun {
  readonly id: string;
  readonly site: string;
  readonly finishedAt: Date;
  readonly passed: boolean;
  readonly scenario?: string;
  readonly rtoSeconds?: number;
  readonly rpoSeconds?: number;
  /** Acknowledged writes missing on the new primary (the drill's measured data loss). */
  readonly rpoRows?: number;
  /** Where it ran: `pg` a real pair, `pg-local` the embedded lab. */
  readonly target: string;
  /** What the drill saw on the replication connection (pg_stat_ssl on the primary); absent when not recorded. */
  readonly replicationTls?: 'mutual-tls' | 'tls' | 'none' | 'unknown';
}

export interface DrillEvidence {
  readonly runs: readonly DrillRun[];
}

export interface WanLink {
  /** Node ids: `from` is the spoke, `to` the hub it dials; site ids for site nodes, other ids for DR centers and counties. */
  readonly from: string;
  readonly to: string;
  readonly role: 'uplink' | 'access' | string;
}

export interface WanAclRule {
  readonly from: string;
  readonly to: string;
  readonly action: 'accept' | 'drop';
  readonly purpose?: string;
}

export interface WanEvidence {
  readonly links: readonly WanLink[];
  /** The node id of the ministry's DR center; absent when the plan has none. */
  readonly ministryDrNode?: string;
  /** The forwarding policy at the hubs: the default action and the explicit rules. */
  readonly acl: { readonly defaultAction: 'accept' | 'drop'; readonly rules: readonly WanAclRule[] };
  readonly origin: string;
}

export interface MonitoringEvidence {
  /** Rendered Prometheus rule files to check with promtool. */
  readonly ruleFiles: readonly string[];
}

/** What a check gets besides the inputs: the sites in scope and the tool runner. */
export interface CheckEnv {
  readonly sites: readonly Site[];
  readonly tools: ToolRunner;
}

/** Runs real tools for the few checks that need one; swapped in tests. */
export interface ToolRunner {
  available(tool: string): boolean;
  run(tool: string, args: readonly string[], opts?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

export type Check = (inputs: ComplianceInputs, env: CheckEnv) => readonly Finding[] | Promise<readonly Finding[]>;
