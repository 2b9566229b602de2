import type { CatalogueMessage } from './errors.js';
import { catalogueMessage, LIB, type MessageParams } from './i18n/index.js';

/** IPv4 prefixes as unsigned 32-bit integers: parse, format, compare. */
export interface Prefix {
  readonly base: number;
  readonly length: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export function prefixSize(length: number): number {
  return 2 ** (32 - length);
}

/** Why a text is not a prefix: the English text, and the same as a lib/locales entry (`cidr.*`) to say it in the user's language. */
export interface PrefixError {
  readonly error: string;
  readonly reason: CatalogueMessage;
}

function said(key: string, params: MessageParams): PrefixError {
  const m = catalogueMessage(LIB, key, params);
  return { error: m.message, reason: m.localized };
}

/** Parse "a.b.c.d/n"; the reason is returned when it is not a valid, canonical prefix. */
export function parsePrefix(text: string): { prefix: Prefix } | PrefixError {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) return said('cidr.notPrefix', { text });
  const base = parseIpv4(m[1]!);
  const length = Number(m[2]);
  if (base === undefined) return said('cidr.notAddress', { address: m[1]! });
  if (length > 32) return said('cidr.lengthAbove32', { length });
  const size = prefixSize(length);
  if (base % size !== 0) {
    const canonical = formatPrefix({ base: base - (base % size), length });
    return said('cidr.hostBits', { text, canonical });
  }
  return { prefix: { base, length } };
}

export function mustParsePrefix(text: string): Prefix {
  const r = parsePrefix(text);
  if ('error' in r) throw new Error(r.error);
  return r.prefix;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIpv4(p.base)}/${p.length}`;
}

export function prefixEnd(p: Prefix): number {
  return p.base + prefixSize(p.length) - 1;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.base <= prefixEnd(b) && b.base <= prefixEnd(a);
}

export function contains(outer: Prefix, inner: Prefix): boolean {
  return outer.length <= inner.length && inner.base >= outer.base && prefixEnd(inner) <= prefixEnd(outer);
}

/** The n-th host address of a prefix (1 = first usable). */
export function hostAddress(p: Prefix, n: number): string {
  return formatIpv4(p.base + n);
}
