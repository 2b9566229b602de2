import type { CatalogueRef } from '../lib/i18n/index.js';

/** What network/ says to people, in each language (network/locales/). */
export const NETWORK_MESSAGES: CatalogueRef = { ns: 'network', dir: 'network/locales' };
