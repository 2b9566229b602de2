import { REPLICATION_MODES, SCENARIOS, TARGETS, type DrillRequest } from '../../../dr-runbooks/index.js';
import { buildDrillRequest, drSite } from '../../../dr-runbooks/operations/index.js';
import { parseChoice, parseInteger } from '../../../lib/options.js';
import type { Context } from '../../context.js';

/** The options every drill command shares (as commander gives them: text). */
export interface RequestOptions {
  site?: string;
  target?: string;
  pair?: string;
  scenario?: string;
  replication?: string;
  probeRate?: string;
  detectionMs?: string;
  failback?: boolean;
}

/** Parse the drill options (the site first: its DR pairing decides the rest) into a drill request. */
export function parseDrillRequest(ctx: Context, o: RequestOptions): DrillRequest {
  const fabric = ctx.fabric();
  drSite(fabric, o.site, ctx.inventorySource);
  return buildDrillRequest(fabric, ctx.inventorySource, {
    ...(o.site !== undefined ? { site: o.site } : {}),
    target: parseChoice('--target', o.target ?? 'pg-local', TARGETS),
    scenario: parseChoice('--scenario', o.scenario ?? 'switchover', SCENARIOS),
    ...(o.replication !== undefined ? { replication: parseChoice('--replication', o.replication, REPLICATION_MODES) } : {}),
    probeRate: parseInteger('--probe-rate', o.probeRate ?? '200', { min: 1, max: 2000 }),
    detectionMs: parseInteger('--detection-ms', o.detectionMs ?? '1000', { min: 1, max: 60_000 }),
    ...(o.failback === false ? { failback: false } : {}),
  });
}
