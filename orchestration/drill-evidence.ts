import { readFileSync } from 'node:fs';
import { DRILL_NOTES, labTlsSource, NODES, type EvidenceSigner, type EvidenceVerifier, type ReplicaTlsSource, type TargetKind } from '../dr-runbooks/index.js';
import type { DrillEvidence } from '../dr-runbooks/operations/index.js';
import { ExitCode } from '../lib/errors.js';
import { caBundlePem, demoPassphrase, evidenceSigner, replicaTlsMaterial, resolvePassphrase, ROOT_CA_ID, toPem, verifyEvidence, type PkiStore } from '../pki/index.js';
import { existingPki } from '../pki/operations.js';
import type { OpsContext } from './context.js';
import { inputError, jinbaoError } from '../lib/i18n/index.js';
import { ORCHESTRATION } from './messages.js';

/** Replica certificates and the report signer from the PKI when it is initialized and unlocked; lab-only otherwise. */
export async function drillEvidence(ctx: OpsContext, site: string, forceLab: boolean, target: TargetKind = 'pg-local'): Promise<DrillEvidence> {
  const pki = forceLab ? undefined : await existingPki(ctx);
  if (!pki) return { tls: labTlsSource(), notes: [DRILL_NOTES.labTls(), DRILL_NOTES.unsigned()] };
  let passphrase: string;
  try {
    passphrase = (await resolvePassphrase({ env: ctx.env, stateDir: ctx.stateDir, demo: () => demoPassphrase(pki) })).passphrase;
  } catch (err) {
    throw jinbaoError(ORCHESTRATION, target === 'pg' ? 'drill.pkiLocked' : 'drill.pkiLockedLab', { dir: ctx.stateDir, why: (err as Error).message }, { exitCode: ExitCode.invalidInput, cause: err });
  }
  const fabric = ctx.fabric();
  const tls: ReplicaTlsSource = {
    label: 'replica-mtls certificates from the jinbao PKI (infrastructure CA)',
    async issue(req) {
      const servers = {} as Record<(typeof NODES)[number], { certPem: string; keyPem: string }>;
      for (const node of req.nodes) {
        const m = await replicaTlsMaterial(pki, fabric, { site, commonName: `${node}.dr-lab-${site}.jinbao.internal`, dnsNames: [`${node}.dr-lab-${site}.jinbao.internal`, 'localhost'], ipAddresses: ['127.0.0.1'], passphrase, validityDays: req.days, actor: 'jinbao drill' });
        servers[node] = { certPem: m.fullChainPem, keyPem: m.privateKeyPem };
      }
      const client = await replicaTlsMaterial(pki, fabric, { site, commonName: req.clientUser, passphrase, validityDays: req.days, actor: 'jinbao drill' });
      return { source: this.label, caPem: await caBundlePem(pki), servers, client: { certPem: client.fullChainPem, keyPem: client.privateKeyPem } };
    },
  };
  const signerCommonName = `DR coordinator ${site}`;
  let pkiSigner: Awaited<ReturnType<typeof evidenceSigner>> | undefined;
  const signer: EvidenceSigner = {
    signer: `CN=${signerCommonName}`,
    async sign(data) {
      pkiSigner ??= await evidenceSigner(pki, fabric, { site, commonName: signerCommonName, passphrase, actor: 'jinbao drill' });
      return { scheme: 'jinbao-pki', value: await pkiSigner.sign(data) };
    },
  };
  return { tls, signer, notes: [DRILL_NOTES.pkiTls(), DRILL_NOTES.signed(signer.signer)] };
}

/** A drill report verifier that trusts `rootFile`, or the root of the PKI in the state; undefined when there is neither. */
export async function reportVerifier(ctx: OpsContext, rootFile: string | undefined): Promise<EvidenceVerifier | undefined> {
  let rootPem: string | undefined;
  let pki: PkiStore | undefined;
  if (rootFile !== undefined) {
    try {
      rootPem = readFileSync(rootFile, 'utf8');
    } catch (err) {
      throw inputError(ORCHESTRATION, 'drill.rootUnreadable', { file: rootFile, why: (err as Error).message }, { cause: err });
    }
  } else {
    pki = await existingPki(ctx);
    const root = await pki?.getCa(ROOT_CA_ID);
    if (root) rootPem = toPem(root.der);
  }
  if (rootPem === undefined) return undefined;
  const trust = { rootPem, ...(pki ? { pki } : {}) };
  return {
    async verify(data, signature) {
      if (signature.scheme !== 'jinbao-pki') return { ok: false, problem: `got signature scheme "${signature.scheme}", want "jinbao-pki"` };
      const v = await verifyEvidence(data, signature.value as Parameters<typeof verifyEvidence>[1], trust);
      return { ok: v.ok, ...(v.signer ? { signer: `${v.signer.subject} (serial ${v.signer.serial})` } : {}), ...(v.reason ? { problem: v.reason } : {}) };
    },
  };
}
