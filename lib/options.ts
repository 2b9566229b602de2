import { inputError, LIB } from './i18n/index.js';

/**
 * Strict parsing of command-line option values, one message style for all:
 * `--probe-rate: got "0x10", want a whole number from 1 to 2000`.
 * Integers are decimal digits only: no sign, hex, exponent, fraction, blanks or empty text.
 */

export interface IntegerRange {
  readonly min: number;
  /** Default: no upper bound. */
  readonly max?: number;
  /** What the number is, for the message: a whole number (default), a TCP port, a number of days. */
  readonly what?: 'number' | 'port' | 'days' | 'perMinute';
}

/** The TCP ports a listener may ask for (0 picks a free one). */
export const TCP_PORT: IntegerRange = { min: 0, max: 65_535, what: 'port' };

const DECIMAL = /^[0-9]+$/;

/** A decimal integer within `range`. */
export function parseInteger(flag: string, text: string, range: IntegerRange): number {
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < range.min || (range.max !== undefined && n > range.max)) {
    const what = range.what ?? 'number';
    throw range.max === undefined
      ? inputError(LIB, 'options.integerAtLeast', { flag, text, what, min: range.min })
      : inputError(LIB, 'options.integerRange', { flag, text, what, min: range.min, max: range.max });
  }
  return n;
}

/** One of a closed list of values. */
export function parseChoice<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw inputError(LIB, 'options.choice', { flag, text, allowed: allowed.join(', ') });
  return text as T;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** A positive duration with its unit: "90s", "30m", "12h", "7d" → seconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^([0-9]+)(s|m|h|d)$/.exec(text);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : 0;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw inputError(LIB, 'options.duration', { flag, text });
  return seconds;
}

/** A number of days, with or without its unit: "30d" or "30". */
export function parseDays(flag: string, text: string): number {
  const m = /^([0-9]+)d?$/.exec(text);
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw inputError(LIB, 'options.days', { flag, text });
  return Number(m[1]);
}

/** A ratio strictly between 0 and 1 written as a decimal fraction: "0.999". */
export function parseRatio(flag: string, text: string, example: string): number {
  const n = /^0?\.[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n > 0 && n < 1)) throw inputError(LIB, 'options.ratio', { flag, text, example });
  return n;
}

/** A calendar date, optionally with a time, in ISO 8601 form: "2026-10-01" or "2026-10-01T08:00:00Z". */
export function parseIsoDate(flag: string, text: string, example: string): Date {
  const ok = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?$/.test(text);
  const date = new Date(text);
  if (!ok || Number.isNaN(date.getTime())) throw inputError(LIB, 'options.isoDate', { flag, text, example });
  return date;
}
