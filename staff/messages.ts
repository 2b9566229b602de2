import type { CatalogueRef } from '../lib/i18n/index.js';

/** The staff commands' messages (`jinbao staff ...`): staff/locales/<lang>.json. */
export const STAFF_MESSAGES: CatalogueRef = { ns: 'staff', dir: 'staff/locales' };
