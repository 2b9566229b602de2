import type { Check } from '../inputs.js';
import { fail, manual, pass } from './verdict.js';

/** Every site is graded at MLPS level 3 or above, as the plan requires of its business systems. */
export const grading: Check = (inputs, env) =>
  env.sites.map((s) => {
    const evidence = [{ source: 'inventory', detail: `sites[${s.id}].mlpsLevel = ${s.mlpsLevel}`, value: s.mlpsLevel }];
    return s.mlpsLevel >= 3
      ? pass(`${s.name} is graded level ${s.mlpsLevel}`, evidence, s.id)
      : fail(`${s.name} is graded level ${s.mlpsLevel}, want 3 or above`, evidence, s.id);
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
      const problems: string[] = [];
      if (!s.backbone) problems.push('no backbone uplink to the ministry core');
      if (!drHost) problems.push('no second uplink: the ministry has no DR center');
      else if (drHost.id === s.id) problems.push('the ministry DR center is at this province itself, so its second line is not independent');
      return problems.length === 0
        ? pass(`${s.name} has two uplinks: ministry core and the ministry DR center at ${drHost!.id}`, evidence, s.id)
        : fail(`${s.name}: ${problems.join('; ')}`, evidence, s.id);
    });
};

/** The ministry and every province replicate to an off-site DR center at another site. */
export const offsitePairing: Check = (inputs, env) =>
  env.sites
    .filter((s) => s.tier !== 'prefecture')
    .map((s) => {
      const host = inputs.fabric.drCenterOf(s);
      if (!host) {
        return fail(`${s.name} has no DR pairing, want an off-site DR center (sites[${s.id}].dr)`, [{ source: 'inventory', detail: `sites[${s.id}].dr is absent` }], s.id);
      }
      const o = inputs.fabric.objectives(s);
      return pass(
        `${s.name} replicates to ${host.id} ${host.name} (${o.replication}, RPO ${o.rpoSeconds} s, RTO ${o.rtoSeconds} s)`,
        [{ source: 'inventory', detail: `sites[${s.id}].dr.site = ${host.id}`, value: { host: host.id, ...o } }],
        s.id,
      );
    });

/** Documented control: jinbao cannot see how administrators log in to the sites' systems. */
export const twoFactorAdministration: Check = () => [
  manual('attest that every administrator logs in with two factors, one of them cryptographic (e.g. a staff certificate on a USB key plus a password)', [
    {
      source: 'procedure',
      detail: 'evidence to collect: the bastion host or SSO configuration enforcing certificate + password, and a sample of administrator login records',
    },
  ]),
];
