import type { LiveFacts } from '../fabric/index.js';
import type { Context } from './context.js';
import { pkiLiveFacts } from './commands/pki-up.js';
import { drillLiveFacts } from './commands/drill.js';

/** A feature's contribution to the KPIs' live facts, read from the state store. */
export type LiveFactsProvider = (ctx: Context) => Partial<LiveFacts>;

/**
 * Every feature that holds live state lists its provider here. A feature with nothing recorded
 * returns {} and its indicators stay "needs: ...".
 */
const PROVIDERS: readonly LiveFactsProvider[] = [pkiLiveFacts, drillLiveFacts];

export function gatherLiveFacts(ctx: Context): LiveFacts {
  return Object.assign({}, ...PROVIDERS.map((p) => p(ctx))) as LiveFacts;
}
