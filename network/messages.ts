import { JinbaoError } from '../lib/errors.js';
import type { CatalogueRef, MessageParams } from '../lib/i18n/index.js';

/** What network/ says to people, in each language (network/locales/). */
export const NETWORK_MESSAGES: CatalogueRef = { ns: 'network', dir: 'network/locales' };

/** What went wrong, to nest in another message: the error's catalogue entry when it has one, else its (English) text. */
export function reasonOf(err: unknown): MessageParams[string] {
  if (err instanceof JinbaoError && err.localized) return err.localized;
  return err instanceof Error ? err.message : String(err);
}
