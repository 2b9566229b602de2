import type { CatalogueRef } from '../lib/i18n/index.js';

/** What stacks/ says to people, in each language (stacks/locales/). */
export const STACKS_MESSAGES: CatalogueRef = { ns: 'stacks', dir: 'stacks/locales' };
