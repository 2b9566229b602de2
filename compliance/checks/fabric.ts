import type { Check } from '../inputs.js';
import { said, type Said } from '../message.js';
import { fail, manual, pass } from './verdict.js';

/** Every site is graded at MLPS level 3 or above, as the plan requires of its business systems. */
export const grading: Check = (inputs, env) =>
  env.sites.map((s) => {
    const evidence = [{ source: 'inventory', detail: `sites[${s.id}].mlpsLevel = ${s.mlpsLevel}`, value: s.mlpsLevel }];
    return s.mlpsLevel >= 3
      ? pass(said('fabric.grading.pass', { name: s.name, level: s.mlpsLevel }), evidence, s.id)
      : fail(said('fabric.grading.fail', { name: s.name, level: s.mlpsLevel }), evidence, s.id);
  });

/**
 * Two lines per province: its backbone uplink to the ministry core, and a second one to the
 * ministry's DR center, which must exist at another site.
 */
export const redundantLines: Check = (inputs, env) => {
  const fabric = inputs.fabric;
  const ministry = fabric.ministry;
  const drHost = fabric.drCenterOf(ministry);
  return env.sites
    .filter((s) => s.tier === 'province')
    .map((s) => {
      const evidence = [
        { source: 'inventory', detail: `sites[${s.id}].backbone = ${s.backbone} (uplink to the ministry core)`, value: s.backbone },
        {
          source: 'inventory',
          detail: drHost ? `the ministry's DR center is hosted at ${drHost.id} ${drHost.name}` : 'the ministry has no DR center (sites[000000].dr is absent)',
          value: drHost?.id ?? null,
        },
      ];
      const problems: Said[] = [];
      if (!s.backbone) problems.push(said('fabric.lines.noBackbone'));
      if (!drHost) problems.push(said('fabric.lines.noDr'));
      else if (drHost.id === s.id) problems.push(said('fabric.lines.sameSite'));
      return problems.length === 0
        ? pass(said('fabric.lines.pass', { name: s.name, dr: drHost!.id }), evidence, s.id)
        : fail(said('site.problems', { name: s.name, problems }), evidence, s.id);
    });
};

/** The ministry and every province replicate to an off-site DR center at another site. */
export const offsitePairing: Check = (inputs, env) =>
  env.sites
    .filter((s) => s.tier !== 'prefecture')
    .map((s) => {
      const host = inputs.fabric.drCenterOf(s);
      if (!host) {
        return fail(said('fabric.offsite.fail', { name: s.name, id: s.id }), [{ source: 'inventory', detail: `sites[${s.id}].dr is absent` }], s.id);
      }
      const o = inputs.fabric.objectives(s);
      return pass(
        said('fabric.offsite.pass', { name: s.name, host: host.id, hostName: host.name, replication: o.replication, rpo: o.rpoSeconds, rto: o.rtoSeconds }),
        [{ source: 'inventory', detail: `sites[${s.id}].dr.site = ${host.id}`, value: { host: host.id, ...o } }],
        s.id,
      );
    });

/** Documented control: jinbao cannot see how administrators log in to the sites' systems. */
export const twoFactorAdministration: Check = () => [
  manual(said('fabric.twoFactor'), [
    {
      source: 'procedure',
      detail: 'evidence to collect: the bastion host or SSO configuration enforcing certificate + password, and a sample of administrator login records',
    },
  ]),
];
