import type { CatalogueRef } from '../lib/i18n/index.js';

/** The operators feature's catalogue (operators/locales/<lang>.json). */
export const OPERATORS_MESSAGES: CatalogueRef = { ns: 'operators', dir: 'operators/locales' };
