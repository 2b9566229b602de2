import type { Evidence, Finding } from '../model.js';

/** Small constructors so every check reads as a list of verdicts. */
export function pass(message: string, evidence: readonly Evidence[], site?: string): Finding {
  return { status: 'pass', message, evidence, ...(site === undefined ? {} : { site }) };
}

export function fail(message: string, evidence: readonly Evidence[], site?: string): Finding {
  return { status: 'fail', message, evidence, ...(site === undefined ? {} : { site }) };
}

export function notRun(message: string, evidence: readonly Evidence[] = [], site?: string): Finding {
  return { status: 'not-run', message, evidence, ...(site === undefined ? {} : { site }) };
}

export function manual(message: string, evidence: readonly Evidence[]): Finding {
  return { status: 'manual', message, evidence };
}

export const DAY_MS = 86_400_000;

export function days(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}
