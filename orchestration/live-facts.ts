import { computeKpis, type Indicator, type LiveFacts } from '../fabric/index.js';
import { drillLiveFacts } from '../dr-runbooks/operations/index.js';
import { pkiLiveFacts } from '../pki/operations.js';
import type { OpsContext } from './context.js';

/** A feature's contribution to the KPIs' live facts, read from the state store. */
export type LiveFactsProvider = (ctx: OpsContext) => Partial<LiveFacts>;

/**
 * Every feature that holds live state lists its provider here. A feature with nothing recorded
 * returns {} and its indicators stay "needs: ...".
 */
const PROVIDERS: readonly LiveFactsProvider[] = [(ctx) => pkiLiveFacts(ctx, ctx.fabric()), (ctx) => drillLiveFacts(ctx)];

export function gatherLiveFacts(ctx: OpsContext): LiveFacts {
  return Object.assign({}, ...PROVIDERS.map((p) => p(ctx))) as LiveFacts;
}

/** The plan's indicators from the inventory and every feature's live facts. */
export function computeLiveKpis(ctx: OpsContext): Indicator[] {
  return computeKpis(ctx.fabric(), gatherLiveFacts(ctx));
}
