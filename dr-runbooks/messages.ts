import type { CatalogueRef } from '../lib/i18n/index.js';

/** What dr-runbooks/ says to people, in each language (dr-runbooks/locales/). */
export const DR_MESSAGES: CatalogueRef = { ns: 'dr', dir: 'dr-runbooks/locales' };
