import type { CatalogueRef } from '../lib/i18n/index.js';

/** What orchestration/ says to people (`up`'s lines, its errors), in each language (orchestration/locales/). */
export const ORCHESTRATION: CatalogueRef = { ns: 'orchestration', dir: 'orchestration/locales' };
