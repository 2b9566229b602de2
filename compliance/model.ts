/**
 * The vocabulary of the compliance catalogue: controls (data), the inputs checks read, findings
 * with evidence, and the report a run produces.
 */

import type { Said } from './message.js';

/** What a control's result can be. A check that could not run is never reported as passed. */
export const STATUSES = ['pass', 'fail', 'manual', 'not-run'] as const;
export type Status = (typeof STATUSES)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Where a control's requirement comes from. */
export type Source =
  | { readonly kind: 'mlps'; readonly standard: string; readonly clause: string; readonly text: string }
  | { readonly kind: 'plan'; readonly indicator: string; readonly text: string };

/** What a control looks at; names the feature whose state it needs. */
export type Inspects = 'fabric' | 'kpi' | 'stacks' | 'pki' | 'audit' | 'operators' | 'drills' | 'wan' | 'monitoring' | 'attestation';

/**
 * What kind of proof a piece of evidence is:
 * - `declared`: written by people in the inventory (or attested), not seen by jinbao;
 * - `derived`: computed by jinbao from the inventory (rendered stacks, the WAN plan, alert rules);
 * - `observed`: seen in production state or by a real tool (audit chain, a production PKI's
 *   records, OpenSSL's verdict, a drill against a real pair);
 * - `demo`: from the demo PKI `jinbao up` creates (its passphrase is stored beside the keys);
 * - `lab`: from a drill on the embedded lab (`--target pg-local`, both servers on the operator's machine).
 */
export const PROVENANCES = ['declared', 'derived', 'observed', 'demo', 'lab'] as const;
export type Provenance = (typeof PROVENANCES)[number];

/** One piece of evidence: where it comes from, what kind of proof it is, what it says, with the raw value when useful. */
export interface Evidence {
  readonly source: string;
  /** Set by the check when it knows better than its control's default (compliance/runner.ts fills the rest). */
  readonly provenance?: Provenance;
  readonly detail: string;
  readonly value?: unknown;
}

/** A check's verdict on one subject: a site, or the whole fabric when `site` is absent. */
export interface Finding {
  readonly status: Status;
  readonly site?: string;
  readonly message: string;
  readonly evidence: readonly Evidence[];
  /**
   * The message as an entry of the compliance catalogue, for human output in the user's language.
   * Machine formats leave it out: `message` is their text.
   */
  readonly said?: Said;
}

/** A control's result: its own status (aggregated from its findings) and the findings themselves. */
export interface ControlResult {
  readonly control: ControlInfo;
  readonly status: Status;
  readonly findings: readonly Finding[];
}

/** The catalogue entry without its check function: what outputs print. */
export interface ControlInfo {
  readonly id: string;
  readonly title: string;
  readonly source: Source;
  readonly severity: Severity;
  /** A failing binding control fails the run (exit 3). */
  readonly binding: boolean;
  /** 'site' controls produce one finding per site and can be filtered with --site. */
  readonly scope: 'site' | 'national';
  readonly inspects: Inspects;
  /** How the check decides, in one sentence an auditor can follow. */
  readonly how: string;
  /** A real tool the check runs; missing → not-run naming the Debian package. */
  readonly requires?: { readonly tool: string; readonly debianPackage: string };
  /**
   * The kinds of evidence a pass may rest on. A finding that would pass on any other kind (demo
   * keys, a lab drill) is reported not-run as "not proven", with the reason and `prove`.
   * @default every kind
   */
  readonly proof?: { readonly accepts: readonly Provenance[]; readonly prove: string };
}

export interface ComplianceReport {
  readonly generatedAt: string;
  readonly inventory: { readonly name: string; readonly sampleData: boolean };
  /** The site the run was limited to, if any. */
  readonly site?: string;
  readonly results: readonly ControlResult[];
  readonly summary: ReportSummary;
}

export interface ReportSummary {
  readonly controls: number;
  readonly byStatus: Readonly<Record<Status, number>>;
  /** Binding controls that are not `pass` (fail or not-run): any makes the run non-compliant. */
  readonly bindingNotPassed: readonly string[];
  readonly compliant: boolean;
}
