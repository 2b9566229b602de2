import type { CatalogueRef } from '../lib/i18n/index.js';

/** What pki/ says to people, in each language (pki/locales/). */
export const PKI_MESSAGES: CatalogueRef = { ns: 'pki', dir: 'pki/locales' };
