import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { LiveFacts } from '../../fabric/index.js';
import {
  DEFAULT_PASSPHRASE_ENV,
  DEMO_PASSPHRASE_WARNING,
  PkiStore,
  ROOT_CA_ID,
  caBundlePem,
  demoPassphraseFile,
  ensureDemoPassphrase,
  initHierarchy,
  mlps3Applications,
  pkiProvenance,
  registerPkiMetrics,
  replicaTlsMaterial,
  staffCertificateHolders,
} from '../../pki/index.js';
import type { Context } from '../context.js';
import type { UpEnv, UpStage, UpStageResult } from '../up-stages.js';

/** The PKI store when a hierarchy exists; undefined otherwise (without creating tables). */
function existingPki(ctx: Context): PkiStore | undefined {
  if (!ctx.hasStore()) return undefined;
  const state = ctx.store();
  if (!state.versions()['pki']) return undefined;
  const pki = PkiStore.open(state);
  return pki.getCa(ROOT_CA_ID) ? pki : undefined;
}

/** KPI facts: staff certificate holders per site, MLPS level-3 applications with server certificates. */
export function pkiLiveFacts(ctx: Context): Partial<LiveFacts> {
  const pki = existingPki(ctx);
  if (!pki) return {};
  const apps = mlps3Applications(pki, ctx.fabric());
  return { staffCertificates: staffCertificateHolders(pki), mlps3Applications: { total: apps.total, withCertificates: apps.withCertificates }, pkiProvenance: pkiProvenance(ctx.stateDir).kind };
}

export function registerPkiFeatureMetrics(registry: Registry, ctx: Context): void {
  registerPkiMetrics(registry, () => existingPki(ctx));
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * `jinbao up`: create the hierarchy in the embedded state when absent (demo passphrase, loudly
 * labelled), then make sure every DR pairing of the inventory has replica-mtls certificates for
 * its primary and standby database servers. Re-running keeps certificates that are valid for 30
 * more days and whose key file is still in the output directory.
 */
export const pkiUpStage: UpStage = {
  name: 'pki',
  async run(ctx: Context, env: UpEnv): Promise<UpStageResult> {
    const state = ctx.store();
    const pki = PkiStore.open(state);
    const lines: string[] = [];
    const envName = DEFAULT_PASSPHRASE_ENV;
    let passphrase = ctx.io.env[envName] || undefined;
    let created = false;
    let demo = false;
    if (!pki.getCa(ROOT_CA_ID)) {
      if (!passphrase) {
        passphrase = ensureDemoPassphrase(state.dir);
        demo = true;
      }
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase });
      created = true;
    } else if (!passphrase && existsSync(demoPassphraseFile(state.dir))) {
      passphrase = ensureDemoPassphrase(state.dir);
      demo = true;
    }
    if (demo) lines.push(`pki: ${DEMO_PASSPHRASE_WARNING}`);
    if (!passphrase) {
      lines.push(`pki: hierarchy exists but ${envName} is not set; DR replica certificates not checked`);
      return { lines, data: { hierarchyCreated: false, demoKeyStore: false, replica: null } };
    }
    const fabric = env.fabric;
    const outDir = join(env.outDir, 'pki', 'replica');
    const now = Date.now();
    let issued = 0;
    let kept = 0;
    const pairs: { site: string; drSite: string; primary: string; standby: string }[] = [];
    for (const site of fabric.sites) {
      const drSite = fabric.drCenterOf(site);
      if (!drSite) continue;
      const dir = join(outDir, site.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'ca-bundle.pem'), caBundlePem(pki));
      const serials: Record<'primary' | 'standby', string> = { primary: '', standby: '' };
      for (const [role, host, cn] of [
        ['primary', site, `pg.${site.slug}.jinbao.internal`],
        ['standby', drSite, `pg-dr-${site.slug}.${drSite.slug}.jinbao.internal`],
      ] as const) {
        const current = pki
          .listCertificates({ site: host.id, profile: 'replica-mtls', status: 'active' })
          // Certificates of a revoked (since replaced) infrastructure CA are dead: issue new ones under its successor.
          .filter((c) => c.commonName === cn && c.notAfter.getTime() - now > RENEW_BEFORE_MS && !pki.revokedCaInChain(c.caId))
          .pop();
        if (current && existsSync(join(dir, `${role}.key.pem`)) && existsSync(join(dir, `${role}.crt.pem`))) {
          kept += 1;
          serials[role] = current.serial;
          continue;
        }
        env.note(`replica certificate for ${cn}`);
        const m = await replicaTlsMaterial(pki, fabric, { site: host.id, commonName: cn, passphrase });
        writeFileSync(join(dir, `${role}.crt.pem`), m.fullChainPem);
        writeFileSync(join(dir, `${role}.key.pem`), m.privateKeyPem, { mode: 0o600 });
        issued += 1;
        serials[role] = m.serial;
      }
      pairs.push({ site: site.id, drSite: drSite.id, primary: serials.primary, standby: serials.standby });
    }
    if (created) lines.splice(demo ? 1 : 0, 0, `pki: CA hierarchy created (ecdsa-p256) in ${state.dir}`);
    lines.push(`pki: ${pairs.length} DR pairings, replica-mtls certificates ${issued} issued, ${kept} kept; files in ${outDir}`);
    return { lines, data: { hierarchyCreated: created, demoKeyStore: demo, replica: { pairings: pairs.length, issued, kept, dir: outDir, pairs } } };
  },
};
