/** The vocabulary of a drill: what is asked, what happens, what is measured. */

export type Scenario = 'switchover' | 'failover';
export type ReplicationMode = 'sync' | 'async';
export type TargetKind = 'pg-local' | 'pg';
export type NodeName = 'dc' | 'dr';

export const SCENARIOS: readonly Scenario[] = ['switchover', 'failover'];
export const REPLICATION_MODES: readonly ReplicationMode[] = ['sync', 'async'];
export const TARGETS: readonly TargetKind[] = ['pg-local', 'pg'];

/** What the DR coordinator asked for. */
export interface DrillRequest {
  readonly site: string;
  readonly siteName: string;
  /** The site hosting the DR center. */
  readonly drSite: string;
  readonly target: TargetKind;
  readonly scenario: Scenario;
  readonly replication: ReplicationMode;
  /** Probe writes per second. */
  readonly probeRate: number;
  /** How long the old primary must stay unreachable before an unplanned failure is declared. */
  readonly detectionMs: number;
  /** Bound on waiting for the standby to replay what it received. */
  readonly catchUpTimeoutMs: number;
  /** How long the probe writes before the failure (or fence), to have rows in flight. */
  readonly warmupMs: number;
  /** Rewind the old primary into a standby of the new one after the drill. */
  readonly failback: boolean;
  readonly objectives: { readonly rtoSeconds: number; readonly rpoSeconds: number };
}

/** Everything a step may emit; the report is built from these, never from prose. */
export type DrillEvent =
  | { readonly type: 'run-started'; readonly at: number; readonly runId: string; readonly request: DrillRequest }
  | { readonly type: 'step-started'; readonly at: number; readonly step: string }
  | { readonly type: 'step-phase'; readonly at: number; readonly step: string; readonly phase: StepPhase; readonly ok: boolean; readonly detail?: string }
  | { readonly type: 'step-finished'; readonly at: number; readonly step: string; readonly ok: boolean; readonly detail?: string }
  | { readonly type: 'rollback'; readonly at: number; readonly step: string; readonly ok: boolean; readonly detail?: string }
  | { readonly type: 'mark'; readonly at: number; readonly name: MarkName; readonly detail?: string }
  | { readonly type: 'measure'; readonly at: number; readonly name: string; readonly value: number | string | boolean }
  | { readonly type: 'note'; readonly at: number; readonly text: string }
  | { readonly type: 'run-finished'; readonly at: number; readonly result: DrillResult; readonly reason?: string };

export type StepPhase = 'precondition' | 'action' | 'verification';

/** Moments the measurements are computed from. */
export type MarkName = 'failure' | 'fence' | 'detected' | 'promoted' | 'traffic-switched' | 'first-ack-new-primary';

export type DrillResult = 'passed' | 'failed' | 'aborted';

/** Measured results of one drill. */
export interface Measurements {
  /** Failure (or fence) to the first acknowledged write on the new primary, milliseconds. */
  readonly rtoMs?: number;
  /** Acknowledged probe rows missing on the new primary. */
  readonly rpoRows?: number;
  /** WAL the new primary had not received when it was promoted, bytes. */
  readonly rpoWalBytes?: number;
  readonly probe?: ProbeCounts;
  /** Whether the old primary refused writes after promotion (tried, not assumed). */
  readonly splitBrainFree?: boolean;
}

export interface ProbeCounts {
  readonly attempted: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly acknowledgedByOldPrimary: number;
  readonly acknowledgedByNewPrimary: number;
}
