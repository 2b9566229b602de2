import { computeKpis, staffByProvince, type Indicator, type LiveFacts, type StaffBreakdown } from '../fabric/index.js';
import { drillLiveFacts } from '../dr-runbooks/operations/index.js';
import { pkiLiveFacts } from '../pki/operations.js';
import { staffLiveFacts } from '../staff/index.js';
import type { OpsContext } from './context.js';

/** A feature's contribution to the KPIs' live facts, read from the state store. */
export type LiveFactsProvider = (ctx: OpsContext) => Partial<LiveFacts> | Promise<Partial<LiveFacts>>;

/**
 * Every feature that holds live state lists its provider here. A feature with nothing recorded
 * returns {} and its indicators stay "needs: ...".
 */
const PROVIDERS: readonly LiveFactsProvider[] = [(ctx) => pkiLiveFacts(ctx, ctx.fabric()), (ctx) => drillLiveFacts(ctx), (ctx) => staffLiveFacts(ctx)];

export async function gatherLiveFacts(ctx: OpsContext): Promise<LiveFacts> {
  const facts: Partial<LiveFacts>[] = [];
  // One after the other: on SQLite the providers share one connection.
  for (const p of PROVIDERS) facts.push(await p(ctx));
  return Object.assign({}, ...facts) as LiveFacts;
}

/** The plan's indicators from the inventory and every feature's live facts. */
export async function computeLiveKpis(ctx: OpsContext): Promise<Indicator[]> {
  return computeKpis(ctx.fabric(), await gatherLiveFacts(ctx));
}

/** The plan's indicators and the staff indicator per province, from one reading of the live facts. */
export async function computeLiveKpiReport(ctx: OpsContext): Promise<{ indicators: Indicator[]; staffByProvince: StaffBreakdown | undefined }> {
  const fabric = ctx.fabric();
  const live = await gatherLiveFacts(ctx);
  return { indicators: computeKpis(fabric, live), staffByProvince: staffByProvince(fabric, live) };
}
