import type { DrPairing, Site, Tier } from './model.js';

/** Recovery objectives a site's DR pairing must meet. */
export interface RecoveryObjectives {
  readonly rtoSeconds: number;
  readonly rpoSeconds: number;
  readonly replication: 'sync' | 'async';
}

/**
 * Defaults per tier, in the spirit of GB/T 20988 level 6 for the upper tiers (zero data loss,
 * recovery in minutes) and level 5 for prefectures. An inventory can set tighter or looser values
 * per site in `dr`.
 */
export const DEFAULT_OBJECTIVES: Readonly<Record<Tier, { rtoSeconds: number; rpoSeconds: number }>> = {
  ministry: { rtoSeconds: 60, rpoSeconds: 0 },
  province: { rtoSeconds: 120, rpoSeconds: 0 },
  prefecture: { rtoSeconds: 300, rpoSeconds: 5 },
};

export function objectivesFor(site: Pick<Site, 'tier'> & { dr?: DrPairing | undefined }): RecoveryObjectives {
  const d = DEFAULT_OBJECTIVES[site.tier];
  const rtoSeconds = site.dr?.rtoSeconds ?? d.rtoSeconds;
  const rpoSeconds = site.dr?.rpoSeconds ?? d.rpoSeconds;
  return { rtoSeconds, rpoSeconds, replication: site.dr?.replication ?? (rpoSeconds === 0 ? 'sync' : 'async') };
}
