import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalOpsContext } from '../../orchestration/context.js';
import { drillEvidence as evidenceSources } from '../../orchestration/drill-evidence.js';
import { runCli } from '../../bin/testkit.js';
import { say } from '../../lib/i18n/index.js';
import { tempDir } from '../../testkit/index.js';
import { buildReportBody, checkCertificate, EventLog, sealReport } from '../index.js';
import { request } from './helpers.js';

const tmp = tempDir('jinbao-drill-pki-');
afterAll(() => tmp.cleanup());
const env = { JINBAO_PKI_PASSPHRASE: 'correct-horse-battery-staple' };

describe('drill evidence with the PKI', () => {
  it('GIVEN an initialized PKI THEN replica certificates come from it and signed reports verify, and fail once altered', async () => {
    const state = join(tmp.dir, 'state');
    expect((await runCli(['--state', state, 'pki', 'init', '--algorithm', 'ecdsa-p256'], env)).code).toBe(0);
    const ctx = new LocalOpsContext({ stateDir: state, env });
    let file: string;
    try {
      const ev = await evidenceSources(ctx, '440000', false);
      expect(ev.notes.map((n) => say(n, 'en'))).toEqual(['replication TLS: replica-mtls certificates from the jinbao PKI', 'report: signed with an evidence-signing certificate (CN=DR coordinator 440000)']);
      const m = await ev.tls.issue({ site: '440000', nodes: ['dc', 'dr'], clientUser: 'replicator', days: 30 });
      for (const pem of [m.servers.dc.certPem, m.servers.dr.certPem, m.client.certPem]) expect(checkCertificate('x', pem, m.caPem, Date.now()).problem).toBeUndefined();
      expect(checkCertificate('client', m.client.certPem, m.caPem, Date.now()).subject).toContain('CN=replicator');
      const log = new EventLog();
      log.mark('fence');
      const report = await sealReport(buildReportBody({ runId: 'dr-pki', request: request(), events: log.events, outcome: { result: 'passed' }, measured: { rtoMs: 900, rpoRows: 0, splitBrainFree: true }, replicationTls: m.source }), ev.signer);
      file = join(tmp.dir, 'dr-pki.json');
      writeFileSync(file, JSON.stringify(report, null, 2));
    } finally {
      await ctx.close();
    }
    const ok = await runCli(['--state', state, 'drill', 'verify-report', file], env);
    expect(ok.stdout).toMatch(/: VALID; digest matches; signed by .*DR coordinator 440000 \(serial [0-9a-f]+\)\n$/);
    expect(ok.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    const body = JSON.parse(text);
    body.measured.rtoMs = 90;
    const { evidence, ...rest } = body;
    // Re-seal the digest so only the signature can catch the change.
    const { canonicalJson, sha256Hex } = await import('../index.js');
    writeFileSync(file, JSON.stringify({ ...rest, evidence: { ...evidence, digest: sha256Hex(canonicalJson(rest)) } }));
    const forged = await runCli(['--state', state, 'drill', 'verify-report', file], env);
    expect(forged.code).toBe(3);
    expect(forged.stdout).toContain('  - signature: got one that does not match the payload');
  });

  it('GIVEN an initialized PKI without its passphrase THEN the drill says how to unlock it or use lab certificates', async () => {
    const state = join(tmp.dir, 'state');
    const ctx = new LocalOpsContext({ stateDir: state, env: {} });
    try {
      await expect(evidenceSources(ctx, '440000', false)).rejects.toThrow(/^the PKI in .* is initialized but locked: no passphrase for the CA keys: .*; or pass --lab-tls to drill with lab-only certificates and an unsigned report$/);
      expect(say((await evidenceSources(ctx, '440000', true)).notes[0]!, 'en')).toBe('replication TLS: lab-only certificates generated with openssl (not the jinbao PKI)');
    } finally {
      await ctx.close();
    }
  });
});
