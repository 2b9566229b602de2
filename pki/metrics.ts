import { Counter, Gauge, type Registry } from 'prom-client';
import type { PkiStore } from './store.js';

/**
 * PKI metrics, computed from the store at scrape time (so they are right across processes):
 * issued and revoked counters, seconds to expiry of each CA, certificates expiring within 30 days.
 * `store` returns undefined while no hierarchy exists; the metrics are then empty.
 */
export function registerPkiMetrics(registry: Registry, store: () => Promise<PkiStore | undefined>, clock: () => Date = () => new Date()): void {
  const registers = [registry];
  new Counter({
    name: 'jinbao_pki_certificates_issued_total',
    help: 'Certificates issued, by profile.',
    labelNames: ['profile'],
    registers,
    async collect() {
      this.reset();
      const pki = await store();
      if (!pki) return;
      for (const r of await pki.countByProfile()) this.inc({ profile: r.profile }, r.n);
    },
  });
  new Counter({
    name: 'jinbao_pki_certificates_revoked_total',
    help: 'Certificates revoked, by profile.',
    labelNames: ['profile'],
    registers,
    async collect() {
      this.reset();
      const pki = await store();
      if (!pki) return;
      for (const r of await pki.countByProfile({ revoked: true })) this.inc({ profile: r.profile }, r.n);
    },
  });
  new Gauge({
    name: 'jinbao_pki_ca_expiry_seconds',
    help: 'Seconds until each CA certificate expires (negative once expired).',
    labelNames: ['ca', 'status'],
    registers,
    async collect() {
      this.reset();
      const pki = await store();
      if (!pki) return;
      const now = clock().getTime();
      for (const ca of await pki.listCas()) this.set({ ca: ca.id, status: ca.status }, Math.round((ca.notAfter.getTime() - now) / 1000));
    },
  });
  new Gauge({
    name: 'jinbao_pki_certificates_expiring_30d',
    help: 'Active certificates that expire within 30 days, by profile (not counting those under a revoked CA).',
    labelNames: ['profile'],
    registers,
    async collect() {
      this.reset();
      const pki = await store();
      if (!pki) return;
      const now = clock();
      const horizon = new Date(now.getTime() + 30 * 86_400_000);
      // Certificates under a revoked CA are dead already (every chain through it fails): renewing them is not the job.
      const rows = await pki.expiringByProfile(now, horizon);
      for (const r of rows) this.set({ profile: r.profile }, r.n);
    },
  });
}
