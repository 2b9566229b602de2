import type { CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, type CatalogueRef, type MessageParams } from '../lib/i18n/index.js';

/** What dr-runbooks/ says to people, in each language (dr-runbooks/locales/). */
export const DR_MESSAGES: CatalogueRef = { ns: 'dr', dir: 'dr-runbooks/locales' };

/** A dr-runbooks catalogue entry to nest in another message (a step's or an operator command's failure). */
export function said(key: string, params: MessageParams = {}): CatalogueMessage {
  return catalogueMessage(DR_MESSAGES, key, params).localized;
}
