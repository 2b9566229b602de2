import { sayIn, type Said } from '../message.js';
import type { Evidence, Finding, Status } from '../model.js';

/**
 * Small constructors so every check reads as a list of verdicts. A message given as a catalogue
 * entry keeps it in `said` (after the machine fields, which stay as they were) and its English
 * text in `message`.
 */
function finding(status: Status, message: string | Said, evidence: readonly Evidence[], site?: string): Finding {
  const text = typeof message === 'string' ? message : sayIn('en', message);
  return { status, message: text, evidence, ...(site === undefined ? {} : { site }), ...(typeof message === 'string' ? {} : { said: message }) };
}

export function pass(message: string | Said, evidence: readonly Evidence[], site?: string): Finding {
  return finding('pass', message, evidence, site);
}

export function fail(message: string | Said, evidence: readonly Evidence[], site?: string): Finding {
  return finding('fail', message, evidence, site);
}

export function notRun(message: string | Said, evidence: readonly Evidence[] = [], site?: string): Finding {
  return finding('not-run', message, evidence, site);
}

export function manual(message: string | Said, evidence: readonly Evidence[]): Finding {
  return finding('manual', message, evidence);
}

export const DAY_MS = 86_400_000;

export function days(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}
