import { Gauge, type Registry } from 'prom-client';
import type { StateAccess } from '../lib/context.js';
import { expiringStaffCertificates } from './operations.js';

/** Days ahead the renewal gauge looks (the alert rule's window). */
export const STAFF_RENEWAL_DAYS = 30;

/**
 * `jinbao_staff_renewals_due_30d{site}`: staff certificates that expire within 30 days whose holder
 * is still active on the site's roster (the ones to renew; leavers' are not). Sites with a roster
 * only; read at each scrape, and nothing is created in a store without rosters.
 */
export function registerStaffMetrics(registry: Registry, state: StateAccess, clock: () => Date = () => new Date()): void {
  new Gauge({
    name: 'jinbao_staff_renewals_due_30d',
    help: 'Staff certificates expiring within 30 days whose holder is still active on the site roster, by site.',
    labelNames: ['site'],
    registers: [registry],
    async collect() {
      this.reset();
      if (!state.hasStore()) return;
      const versions = await (await state.database()).versions();
      if (!versions['staff'] || !versions['pki']) return;
      const due = new Map<string, number>();
      for (const c of await expiringStaffCertificates(state, { days: STAFF_RENEWAL_DAYS, now: clock() })) if (c.onRoster) due.set(c.site, (due.get(c.site) ?? 0) + 1);
      for (const [site, n] of due) this.set({ site }, n);
    },
  });
}
