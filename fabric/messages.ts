import type { CatalogueRef } from '../lib/i18n/index.js';

/** What fabric/ says to people, in each language (fabric/locales/). */
export const FABRIC_MESSAGES: CatalogueRef = { ns: 'fabric', dir: 'fabric/locales' };
