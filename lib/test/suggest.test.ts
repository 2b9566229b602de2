import { describe, expect, it } from 'vitest';
import { closest, didYouMean, editDistance } from '../suggest.js';

describe('did-you-mean suggestions', () => {
  it('GIVEN a swap of two neighbouring characters THEN it counts as one edit', () => {
    expect(editDistance('440010', '440100')).toBe(1);
    expect(editDistance('stafff', 'staff')).toBe(1);
    expect(editDistance('990000', '000000')).toBe(2);
  });

  it('GIVEN a six-digit code one digit off THEN the code is suggested', () => {
    expect(didYouMean('440001', ['000000', '440000', '440300'])).toBe(', did you mean "440000"?');
  });

  it('GIVEN a code two digits off THEN nothing is suggested: it is another code, not a typo', () => {
    expect(didYouMean('990000', ['000000', '440000'])).toBe('');
  });

  it('GIVEN two candidates equally close THEN nothing is suggested rather than a guess', () => {
    expect(closest('440200', ['440100', '440300'])).toBeUndefined();
  });

  it('GIVEN a long word with two typos THEN the word is still suggested', () => {
    expect(closest('requiringCertficate', ['requiringCertificates', 'total'])).toBe('requiringCertificates');
  });
});
