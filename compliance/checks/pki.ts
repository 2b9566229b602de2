import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateEvidence, Check } from '../inputs.js';
import { said } from '../message.js';
import { DAY_MS, days, fail, isoDate, pass } from './verdict.js';

const EXPIRY_WINDOW_DAYS = 30;

function describe(c: CertificateEvidence): string {
  return `${c.serial} ${c.profile} "${c.subject}"${c.site ? ` (site ${c.site})` : ''}`;
}

/** Certificates are issued, and every active one is inside its validity and chains to a valid CA that still answers for it (active, or retiring after a rollover). */
export const certificatesValid: Check = (inputs) => {
  const pki = inputs.pki!;
  const now = inputs.now.getTime();
  const cas = new Map(pki.authorities.map((a) => [a.id, a]));
  const active = pki.certificates.filter((c) => c.status === 'active');
  const problems: string[] = [];
  for (const c of active) {
    if (c.notBefore.getTime() > now) problems.push(`${describe(c)} is not valid before ${c.notBefore.toISOString()}`);
    if (c.notAfter.getTime() <= now) problems.push(`${describe(c)} expired on ${c.notAfter.toISOString()} but is still marked active`);
    const ca = cas.get(c.caId);
    if (!ca) problems.push(`${describe(c)} names issuer ${c.caId}, which is not in the PKI`);
    else if ((ca.status !== 'active' && ca.status !== 'retiring') || ca.notAfter.getTime() <= now) problems.push(`${describe(c)} was issued by ${ca.id}, which is ${ca.notAfter.getTime() <= now ? 'expired' : ca.status}`);
  }
  const evidence = [
    { source: 'pki', detail: `${pki.authorities.length} CA(s), ${pki.certificates.length} certificate(s), ${active.length} active`, value: { authorities: pki.authorities.length, certificates: pki.certificates.length, active: active.length } },
    ...problems.slice(0, 20).map((p) => ({ source: 'pki', detail: p })),
  ];
  if (active.length === 0) return [fail(said('pki.certs.none'), evidence)];
  return problems.length === 0
    ? [pass(said('pki.certs.pass', { count: active.length }), evidence)]
    : [fail(said('pki.certs.problems', { count: problems.length }), evidence)];
};

/** No active certificate or CA expires within 30 days (a retiring CA has handed issuance to its successor: its end is planned). */
export const notExpiringSoon: Check = (inputs) => {
  const pki = inputs.pki!;
  const now = inputs.now.getTime();
  const horizon = now + EXPIRY_WINDOW_DAYS * DAY_MS;
  const soon = [
    ...pki.authorities.filter((a) => a.status === 'active' && a.notAfter.getTime() <= horizon).map((a) => ({ what: `CA ${a.id}`, notAfter: a.notAfter })),
    ...pki.certificates.filter((c) => c.status === 'active' && c.notAfter.getTime() <= horizon).map((c) => ({ what: describe(c), notAfter: c.notAfter })),
  ].sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime());
  const evidence = soon.slice(0, 20).map((x) => ({ source: 'pki', detail: `${x.what} expires ${isoDate(x.notAfter)} (in ${days(x.notAfter.getTime() - now)} days)` }));
  const checked = pki.authorities.filter((a) => a.status === 'active').length + pki.certificates.filter((c) => c.status === 'active').length;
  return soon.length === 0
    ? [pass(said('pki.expiry.pass', { checked, days: EXPIRY_WINDOW_DAYS }), [{ source: 'pki', detail: `horizon ${isoDate(new Date(horizon))}` }])]
    : [fail(said('pki.expiry.fail', { count: soon.length, days: EXPIRY_WINDOW_DAYS }), evidence)];
};

/** An SM2 root with at least one active SM2 issuing CA under it (GB/T 39786-2021). */
export const sm2Hierarchy: Check = (inputs) => {
  const pki = inputs.pki!;
  const now = inputs.now.getTime();
  const usable = pki.authorities.filter((a) => a.algorithm === 'sm2' && a.status === 'active' && a.notAfter.getTime() > now);
  const roots = usable.filter((a) => a.parent === undefined);
  const issuing = usable.filter((a) => a.parent !== undefined && roots.some((r) => r.id === a.parent));
  const evidence = [{ source: 'pki', detail: `authorities: ${pki.authorities.map((a) => `${a.id} (${a.algorithm}${a.parent ? ` under ${a.parent}` : ', root'}, ${a.status})`).join(', ') || 'none'}` }];
  if (roots.length === 0) return [fail(said('pki.sm2.noRoot'), evidence)];
  if (issuing.length === 0) return [fail(said('pki.sm2.noIssuing', { root: roots[0]!.id }), evidence)];
  return [pass(said('pki.sm2.pass', { roots: roots.map((r) => r.id).join(', '), issuing: issuing.map((i) => i.id).join(', ') }), evidence)];
};

/** GB/T 32918 / GM/T 0009 default distinguishing ID; passed explicitly because tools disagree on defaults. */
export const SM2_DISTID = '1234567812345678';

/**
 * OpenSSL, as an independent verifier, accepts the SM2 hierarchy link by link: the issuing CA
 * under the root, then the leaf under the issuing CA. One `openssl verify` over the whole chain
 * cannot work with OpenSSL 3.0: `-vfyopt distid:` applies only to the certificate being verified,
 * so the intermediate's SM2 signature is checked with the wrong distinguishing ID and fails.
 */
export const sm2ChainVerifies: Check = async (inputs, env) => {
  const chain = inputs.pki!.sm2Chain;
  if (!chain) return [fail(said('pki.chain.noLeaf'), [{ source: 'pki', detail: 'no SM2 chain material' }])];
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-sm2-'));
  try {
    writeFileSync(join(dir, 'root.pem'), chain.rootPem);
    writeFileSync(join(dir, 'inter.pem'), chain.intermediatesPem);
    writeFileSync(join(dir, 'leaf.pem'), chain.leafPem);
    const links = [
      ['verify', '-vfyopt', `distid:${SM2_DISTID}`, '-CAfile', join(dir, 'root.pem'), join(dir, 'inter.pem')],
      ['verify', '-vfyopt', `distid:${SM2_DISTID}`, '-partial_chain', '-CAfile', join(dir, 'inter.pem'), join(dir, 'leaf.pem')],
    ];
    const evidence = [];
    let ok = true;
    for (const args of links) {
      const r = await env.tools.run('openssl', args);
      const shown = (t: string) => t.split(`${dir}/`).join('');
      evidence.push({ source: 'openssl', detail: `openssl ${shown(args.join(' '))} → exit ${r.code}: ${shown((r.stdout + r.stderr).trim()).split('\n').slice(-2).join(' / ')}` });
      if (r.code !== 0) ok = false;
    }
    return ok ? [pass(said('pki.chain.pass'), evidence)] : [fail(said('pki.chain.fail'), evidence)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
