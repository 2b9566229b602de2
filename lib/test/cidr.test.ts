import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../cidr.js';
import { say } from '../i18n/index.js';

/** Why a text is not a prefix, in English (the error text) and in Chinese (its catalogue entry). */
function refusal(text: string): { en: string; zh: string } {
  const r = parsePrefix(text);
  if (!('error' in r)) throw new Error(`${text} parsed`);
  expect(say(r.reason, 'en')).toBe(r.error);
  return { en: r.error, zh: say(r.reason, 'zh-CN') };
}

describe('parsePrefix: the reasons a text is not a prefix, in both languages', () => {
  it('GIVEN a canonical prefix THEN it parses', () => {
    expect(parsePrefix('10.4.0.0/14')).toEqual({ prefix: { base: (10 << 24) + (4 << 16), length: 14 } });
  });

  it('GIVEN no length THEN it asks for a.b.c.d/len', () => {
    expect(refusal('10.4.0.0')).toEqual({ en: '"10.4.0.0" is not an IPv4 prefix (want a.b.c.d/len)', zh: '“10.4.0.0”不是 IPv4 前缀（应为 a.b.c.d/长度）' });
  });

  it('GIVEN an octet above 255 THEN the address is named', () => {
    expect(refusal('10.256.0.0/16')).toEqual({ en: '"10.256.0.0" is not an IPv4 address', zh: '“10.256.0.0”不是 IPv4 地址' });
  });

  it('GIVEN a length above 32 THEN the length is named', () => {
    expect(refusal('10.0.0.0/33')).toEqual({ en: 'prefix length 33 is above 32', zh: '前缀长度 33 大于 32' });
  });

  it('GIVEN host bits set THEN the canonical prefix is suggested', () => {
    expect(refusal('10.1.2.3/24')).toEqual({ en: '"10.1.2.3/24" has host bits set, did you mean "10.1.2.0/24"?', zh: '“10.1.2.3/24”的主机位不为零，是否应为“10.1.2.0/24”？' });
  });
});
