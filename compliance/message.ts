/**
 * Finding messages as catalogue entries (compliance/locales/), so the human table can say them in
 * the user's language. A check writes `said('fabric.grading.pass', { name, level })`; the finding
 * keeps the English text in `message` (what JSON, JUnit and SARIF carry, whatever the language)
 * and the entry in `said` for the human renderers.
 */
import { needsCode } from '../fabric/index.js';
import { translator, type CatalogueRef, type Lang, type Translate } from '../lib/i18n/index.js';

export const COMPLIANCE_MESSAGES: CatalogueRef = { ns: 'compliance', dir: 'compliance/locales' };

/** A value in a message: text, a number, another message, or a list of messages (joined as the language joins lists). */
export type SaidParam = string | number | Said | readonly Said[];

/** A message of the compliance catalogue with its values. */
export interface Said {
  readonly key: string;
  readonly params?: Readonly<Record<string, SaidParam>>;
}

export function said(key: string, params?: Readonly<Record<string, SaidParam>>): Said {
  return params === undefined ? { key } : { key, params };
}

/** The message in the language of `t` (the compliance catalogue's translator). */
export function sayWith(t: Translate, s: Said): string {
  const values: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(s.params ?? {})) {
    values[k] = typeof v === 'string' || typeof v === 'number' ? v : Array.isArray(v) ? (v as readonly Said[]).map((x) => sayWith(t, x)).join(t('list.separator')) : sayWith(t, v as Said);
  }
  return t(s.key, values);
}

/** Why a feature's controls cannot run: no state store in `dir`. */
export function noStateStore(dir: string): Said {
  return said('inputs.noState', { dir });
}

/** Why the PKI controls cannot run: a state store without a PKI. */
export function noPki(dir: string): Said {
  return said('inputs.noPki', { dir });
}

/** The message in `lang`. */
export function sayIn(lang: Lang, s: Said): string {
  return sayWith(translator(lang, COMPLIANCE_MESSAGES), s);
}

/**
 * What an indicator still needs (fabric/kpi.ts writes it in English) as a catalogue entry, keyed by
 * its code in fabric's NEEDS (`needs.dr-drills-against-real`); a text that is not one of NEEDS stays
 * as written.
 */
export function needsSaid(english: string): Said | string {
  const code = needsCode(english);
  return code === undefined ? english : said(`needs.${code}`);
}

/** `needsSaid` said in `lang`. */
export function needsIn(lang: Lang, english: string): string {
  const s = needsSaid(english);
  return typeof s === 'string' ? s : sayIn(lang, s);
}
