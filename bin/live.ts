import type { LiveFacts } from '../fabric/index.js';
import type { Context } from './context.js';

/**
 * Live facts for the KPIs, gathered from what the features keep in the state store.
 * Each feature adds its part here; a feature with nothing recorded yet contributes nothing and
 * its indicators stay "needs: ...".
 */
export function gatherLiveFacts(_ctx: Context): LiveFacts {
  return {};
}
