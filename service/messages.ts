import type { CatalogueRef } from '../lib/i18n/index.js';

/** What `jinbao serve` says to the operator starting it (service/locales/<lang>.json). */
export const SERVICE_MESSAGES: CatalogueRef = { ns: 'service', dir: 'service/locales' };
