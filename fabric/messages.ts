import { catalogueMessage, type CatalogueRef, type MessageParams } from '../lib/i18n/index.js';
import type { Problem } from './problems.js';

/** What fabric/ says to people, in each language (fabric/locales/). */
export const FABRIC_MESSAGES: CatalogueRef = { ns: 'fabric', dir: 'fabric/locales' };

/** A validation problem whose message is a fabric/locales entry. */
export function problem(path: readonly (string | number)[], key: string, params: MessageParams = {}): Problem {
  const m = catalogueMessage(FABRIC_MESSAGES, key, params);
  return { path, message: m.message, said: m.localized };
}

/** `, did you mean "X"?` after an unknown name, or nothing. */
export function suggestion(closest: string | undefined): MessageParams[string] {
  return closest === undefined ? '' : catalogueMessage(FABRIC_MESSAGES, 'problem.didYouMean', { name: closest }).localized;
}

/** A fabric/locales entry to nest in a problem's message. */
export function said(key: string, params: MessageParams = {}): MessageParams[string] {
  return catalogueMessage(FABRIC_MESSAGES, key, params).localized;
}

/**
 * Where an inventory came from, to nest in a message: the file as given, or the built-in
 * inventory's name in the reader's language.
 */
export function inventorySourceParam(source: string, builtInName: string): MessageParams[string] {
  return source === builtInName ? catalogueMessage(FABRIC_MESSAGES, 'inventory.builtIn').localized : source;
}
