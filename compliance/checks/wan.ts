import type { Check } from '../inputs.js';
import { said, type Said } from '../message.js';
import { fail, pass } from './verdict.js';

/** Each province hub has an uplink to the ministry core and one to the ministry's DR-center node. */
export const wanRedundantUplinks: Check = (inputs, env) => {
  const wan = inputs.wan!;
  const ministry = inputs.fabric.ministry;
  const drNode = wan.ministryDrNode;
  return env.sites
    .filter((s) => s.tier === 'province')
    .map((s) => {
      const ups = wan.links.filter((l) => l.role === 'uplink' && l.from === s.id).map((l) => l.to);
      const toCore = ups.includes(ministry.id);
      const toDr = drNode !== undefined && ups.includes(drNode);
      const evidence = [{ source: wan.origin, detail: `uplinks of ${s.id}: ${ups.join(', ') || 'none'}` }];
      const missing = [!toCore && said('wan.uplinks.core', { id: ministry.id }), !toDr && (drNode ? said('wan.uplinks.dr', { id: drNode }) : said('wan.uplinks.noDr'))].filter((x): x is Said => x !== false);
      return missing.length === 0
        ? pass(said('wan.uplinks.pass', { name: s.name, core: ministry.id, dr: drNode ?? '' }), evidence, s.id)
        : fail(said('wan.uplinks.fail', { name: s.name, missing: missing.length === 2 ? said('wan.uplinks.either', { a: missing[0]!, b: missing[1]! }) : missing[0]! }), evidence, s.id);
    });
};

/** The hubs forward by default-deny ACLs, and no rule lets a prefecture reach another prefecture directly. */
export const wanAclDefaultDeny: Check = (inputs) => {
  const wan = inputs.wan!;
  const tierOf = (id: string) => inputs.fabric.findSite(id)?.tier;
  const lateral = wan.acl.rules.filter((r) => r.action === 'accept' && r.from !== r.to && tierOf(r.from) === 'prefecture' && tierOf(r.to) === 'prefecture');
  const evidence = [
    { source: wan.origin, detail: `default action: ${wan.acl.defaultAction}; ${wan.acl.rules.length} rule(s), ${wan.acl.rules.filter((r) => r.action === 'accept').length} accept` },
    ...lateral.slice(0, 10).map((r) => ({ source: wan.origin, detail: `accept ${r.from} → ${r.to}${r.purpose ? ` (${r.purpose})` : ''}` })),
  ];
  if (wan.acl.defaultAction !== 'drop') return [fail(said('wan.acl.forwards', { action: wan.acl.defaultAction }), evidence)];
  if (lateral.length > 0) return [fail(said('wan.acl.lateral', { count: lateral.length }), evidence)];
  return [pass(said('wan.acl.pass'), evidence)];
};
