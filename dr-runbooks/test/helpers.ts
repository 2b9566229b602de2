import type { DrillRequest } from '../index.js';

export function request(over: Partial<DrillRequest> = {}): DrillRequest {
  return {
    site: '440000',
    siteName: '广东省',
    drSite: '440200',
    target: 'pg-local',
    scenario: 'switchover',
    replication: 'sync',
    probeRate: 200,
    detectionMs: 1000,
    catchUpTimeoutMs: 15_000,
    warmupMs: 700,
    failback: true,
    objectives: { rtoSeconds: 120, rpoSeconds: 0 },
    ...over,
  };
}
