import { describe, expect, it } from 'vitest';
import { InputError } from '../errors.js';
import { parseChoice, parseDays, parseDuration, parseInteger, parseIsoDate, parseRatio, TCP_PORT } from '../options.js';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('parseInteger', () => {
  const rate = { min: 1, max: 2000 };
  it('takes decimal digits within the range', () => {
    expect(parseInteger('--probe-rate', '200', rate)).toBe(200);
    expect(parseInteger('--probe-rate', '2000', rate)).toBe(2000);
    expect(parseInteger('--port', '0', TCP_PORT)).toBe(0);
  });
  it.each(['0x10', '1e3', '+5', '-5', ' 5', '5 ', '', '5.0', '1_000', 'five', '٥'])('GIVEN %j THEN it refuses, showing what it got and the range', (text) => {
    expect(refusal(() => parseInteger('--probe-rate', text, rate))).toBe(`--probe-rate: got "${text}", want a whole number from 1 to 2000`);
  });
  it('names the range and what the number is', () => {
    expect(refusal(() => parseInteger('--probe-rate', '2001', rate))).toBe('--probe-rate: got "2001", want a whole number from 1 to 2000');
    expect(refusal(() => parseInteger('--port', '70000', TCP_PORT))).toBe('--port: got "70000", want a TCP port from 0 to 65535');
    expect(refusal(() => parseInteger('--provinces', '0', { min: 1 }))).toBe('--provinces: got "0", want a whole number of at least 1');
    expect(refusal(() => parseInteger('--days', '99999999999999999999', { min: 1, what: 'days' }))).toBe('--days: got "99999999999999999999", want a whole number of days of at least 1');
  });
});

describe('parseChoice', () => {
  it('takes one of the values, exactly', () => {
    expect(parseChoice('--target', 'pg', ['pg-local', 'pg'] as const)).toBe('pg');
    expect(refusal(() => parseChoice('--target', 'PG', ['pg-local', 'pg'] as const))).toBe('--target: got "PG", want one of pg-local, pg');
    expect(refusal(() => parseChoice('--format', '', ['md', 'json'] as const))).toBe('--format: got "", want one of md, json');
  });
});

describe('durations, days, ratios and dates', () => {
  it('takes a duration with its unit and refuses the rest', () => {
    expect(parseDuration('--validity', '90s')).toBe(90);
    expect(parseDuration('--validity', '7d')).toBe(604_800);
    for (const text of ['0s', '1.5h', ' 1h', '1e3s', '12', 'soon'])
      expect(refusal(() => parseDuration('--validity', text))).toBe(`--validity: got "${text}", want a positive duration such as 90s, 30m, 12h or 7d`);
  });
  it('takes days with or without the unit', () => {
    expect(parseDays('--expiring', '30d')).toBe(30);
    expect(parseDays('--expiring', '30')).toBe(30);
    for (const text of ['0x1e', ' 30d', '-1', 'soon']) expect(refusal(() => parseDays('--expiring', text))).toBe(`--expiring: got "${text}", want a number of days such as 30d`);
  });
  it('takes a decimal ratio strictly between 0 and 1', () => {
    expect(parseRatio('--slo', '0.999', '0.999')).toBe(0.999);
    expect(parseRatio('--slo', '.99', '0.999')).toBe(0.99);
    for (const text of ['1', '0', '0.0', '99.9', '9.99e-1', ' 0.9', ''])
      expect(refusal(() => parseRatio('--slo', text, '0.999'))).toBe(`--slo: got "${text}", want a ratio between 0 and 1 such as 0.999`);
  });
  it('takes an ISO date, and refuses what Date() would guess at', () => {
    expect(parseIsoDate('--since', '2026-10-01', '2026-10-01').toISOString()).toBe('2026-10-01T00:00:00.000Z');
    expect(parseIsoDate('--since', '2026-10-01T08:00:00Z', '2026-10-01').toISOString()).toBe('2026-10-01T08:00:00.000Z');
    for (const text of ['1', 'October 1', '2026-13-01', '2026/10/01'])
      expect(refusal(() => parseIsoDate('--since', text, '2026-10-01'))).toBe(`--since: got "${text}", want an ISO date such as 2026-10-01`);
  });
});
