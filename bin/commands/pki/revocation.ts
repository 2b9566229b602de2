import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { inputError } from '../../../lib/i18n/index.js';
import { parseChoice, parseDuration, parseInteger, TCP_PORT } from '../../../lib/options.js';
import { json } from '../../../lib/output.js';
import { closePkcs11Sessions, CRL_EXPIRED_ENTRIES, CRL_PARTITION_SIZE_RANGE, DEFAULT_PASSPHRASE_ENV, demoPassphrase, normalizeDistributionBase, parseRevocationReason, requireRootCa, resolvePassphrase, type PkiStore, type RevocationReason } from '../../../pki/index.js';
import { cutCrl, openPki as openPkiStore, replaceIssuingCa, revokeCertificate, revokeIssuingCa, startOcspService } from '../../../pki/operations.js';
import { COMMAND_MESSAGES, type Context } from '../../context.js';
import type { Runner } from '../../runner.js';
import { unknownCa } from './core.js';
import { pkiPassphrase } from './passphrase.js';

async function openPki(ctx: Context): Promise<PkiStore> {
  const pki = await openPkiStore(ctx);
  await requireRootCa(pki);
  return pki;
}

export function register(pki: Command, run: Runner): void {
  pki
    .command('revoke')
    .description('revoke a certificate (--serial) or an issuing CA (--ca): recorded with its audit entry; CRLs and OCSP answers follow')
    .option('--serial <hex>', 'serial number of a certificate (as jinbao pki list or openssl x509 -serial print it)')
    .option('--ca <id>', 'an issuing CA to revoke instead (as jinbao pki cas lists them), e.g. after its key was compromised')
    .requiredOption('--reason <reason>', 'RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nGive exactly one of --serial and --ca. A revocation is final; revoking twice, an unknown serial or CA,\n' +
        'or the root CA is refused (exit 2) and the refusal is audited.\n' +
        'OCSP responders on this state answer "revoked" from the next request on; CRLs carry it from the next one cut.\n\n' +
        'Revoking an issuing CA (--ca): it issues nothing more; its certificate goes on its parent\'s (the root\'s)\n' +
        'CRLs and the root\'s OCSP responder answers "revoked" for it, so relying parties reject every certificate\n' +
        'under it; jinbao refuses its chain in evidence verification and replica TLS. Publish at once with\n' +
        '`jinbao pki crl --ca root` (and --delta), then give it a successor: `jinbao pki replace-ca --ca ID`\n' +
        '(see pki replace-ca --help for the whole recovery). The root itself cannot be revoked: if its key is\n' +
        'compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init) and re-issue.\n\n' +
        'Examples:\n  $ jinbao pki revoke --serial 5F3A09C1D2E4 --reason keyCompromise\n  $ jinbao pki revoke --serial 5F3A09C1D2E4 --reason superseded --json\n' +
        '  $ jinbao pki revoke --ca province-440000-staff --reason cACompromise\n  $ jinbao pki crl --ca root\n  $ jinbao pki crl --ca ministry-staff --delta',
    )
    .action(run<RevokeOpts>(revoke));

  pki
    .command('replace-ca')
    .description('give a revoked issuing CA a successor: same role, purpose, site, algorithm and key backend, new key, serial and id')
    .requiredOption('--ca <id>', 'the revoked issuing CA (as jinbao pki cas lists it), e.g. province-440000-staff')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (or the token PIN)', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe successor is signed by the root and takes the next id of the line: province-440000-staff →\n' +
        'province-440000-staff-2 → province-440000-staff-3 (its CN gets " G2", " G3"). Its key is new, in the same\n' +
        'backend (the same PKCS#11 token when the old key was on one). From then on everything that picks a CA by\n' +
        'purpose (pki issue, pki up, replica TLS, evidence signing) uses the successor; --ca with the old id still\n' +
        'names the old CA (its CRL, its OCSP responder). Certificates of the revoked CA stay as they are: their\n' +
        'chains fail, so re-issue them. Refused (exit 2, audited): unknown ids, the root, an active CA (revoke it\n' +
        'first; a planned change that keeps its certificates valid is pki rollover-ca) and a CA already replaced.\n\n' +
        'Recovering from a compromised issuing CA, step by step:\n' +
        '  $ jinbao pki revoke --ca province-440000-staff --reason cACompromise   # 1. revoke: it issues nothing more\n' +
        '  $ jinbao pki crl --ca root --out /srv/pki/crl                         # 2. cut the root CRL: relying parties learn it\n' +
        '  $ jinbao pki replace-ca --ca province-440000-staff                     # 3. replace: province-440000-staff-2\n' +
        '  $ jinbao pki list --ca province-440000-staff --status active           # 4. re-issue each, from a new CSR:\n' +
        '  $ jinbao pki issue --profile staff-auth --site 440100 --csr staff.csr  #    signed by the successor now\n' +
        '  $ jinbao pki crl --ca province-440000-staff-2 --out /srv/pki/crl       # 5. publish the successor\'s CRL,\n' +
        '  $ jinbao pki cas --json                                                #    its certificate and an OCSP responder for it\n' +
        '  $ jinbao up                                                            # (infrastructure: new replica certificates)',
    )
    .action(run<ReplaceOpts>(replace));

  pki
    .command('crl')
    .description('cut the next full or delta CRL of a CA (its complete CRL, one partition or all), as DER and PEM')
    .requiredOption('--ca <id>', 'CA id (root, ministry-staff, infrastructure, province-<id>-staff)')
    .option('--delta', 'a delta CRL: only what was revoked since the latest full CRL')
    .option('--partition <n|all>', 'an issuing CA\'s CRL partition n (what its certificates name: <base>/crl/<ca>/<n>.crl), or all: the complete CRL and every partition (default: the complete CRL <ca>.crl)')
    .option('--partition-size <n>', 'record how many certificates each new CRL partition is issued (default 100000): applies to issuance from now on, service included')
    .option('--expired-entries <drop|keep>', 'record what CRLs do with revoked certificates once expired: drop them (the default) or keep them, marked ExpiredCertsOnCRL')
    .option('--out <dir>', 'where to write <ca>.crl, <ca>/<n>.crl (and -delta.crl) and their .pem', 'jinbao.out/crl')
    .option('--next-update <duration>', 'validity of the CRL (default 7d for a full CRL, 1d for a delta)')
    .option('--distribution-base <url>', 'base URL CRLs are published under (full CRLs announce the delta at <base>/crl/<ca>-delta.crl); must be the hierarchy\'s own (pki init --distribution-base), which is the default')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase', 'JINBAO_PKI_PASSPHRASE')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nFull and delta CRLs share one CRL number sequence per CA; a delta names the full CRL it updates.\n' +
        'Each certificate of an issuing CA is issued into a CRL partition and names its CRL; a partition\'s CRL carries\n' +
        'a critical IssuingDistributionPoint with that URL. Certificates issued before partitions name the complete CRL.\n' +
        'Check the result with: openssl crl -inform DER -in jinbao.out/crl/ministry-staff.crl -noout -text\n\n' +
        'Examples:\n  $ jinbao pki crl --ca ministry-staff\n  $ jinbao pki crl --ca ministry-staff --delta --out /srv/pki/crl\n  $ jinbao pki crl --ca ministry-staff --partition all --json\n' +
        '  $ jinbao pki crl --ca ministry-staff --partition 3 --delta\n  $ jinbao pki crl --ca root --next-update 30d --json',
    )
    .action(run<CrlOpts>(crl));

  const ocsp = pki.command('ocsp').description('the OCSP responder (RFC 6960)');
  ocsp
    .command('serve')
    .description('answer OCSP requests for one CA over HTTP GET and POST until interrupted')
    .requiredOption('--port <port>', 'TCP port (0 picks a free one)')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .requiredOption('--ca <id>', 'the CA whose certificates it answers for')
    .requiredOption('--responder-cert <file>', 'delegated OCSP-signing certificate (PEM) issued by that CA')
    .requiredOption('--responder-key <file>', 'its private key (PEM)')
    .option('--key-passphrase-env <name>', 'environment variable holding the responder key passphrase, if encrypted')
    .option('--validity <duration>', 'nextUpdate of answers', '1h')
    .option('--cache-ttl <duration>', 'how long a signed answer is reused (a revocation drops it at once)', '60s')
    .addHelpText(
      'after',
      '\nMake the responder certificate once with the ocsp-signing profile, then serve:\n' +
        '  $ jinbao pki issue --profile ocsp-signing --generate --subject "CN=OCSP ministry-staff" --site 000000 --ca ministry-staff --out ocsp/\n' +
        '  $ jinbao pki ocsp serve --port 8080 --ca ministry-staff --responder-cert ocsp/<serial>.crt.pem --responder-key ocsp/<serial>.key.pem\n' +
        'Ask it:\n' +
        '  $ openssl ocsp -issuer ca.pem -cert staff.pem -url http://127.0.0.1:8080 -CAfile root.pem\n' +
        'The root\'s responder answers for the issuing CAs\' own certificates (is a CA revoked?):\n' +
        '  $ jinbao pki issue --profile ocsp-signing --generate --subject "CN=OCSP root" --site 000000 --ca root --out ocsp-root/\n' +
        '  $ jinbao pki ocsp serve --port 8081 --ca root --responder-cert ocsp-root/<serial>.crt.pem --responder-key ocsp-root/<serial>.key.pem\n' +
        '  $ openssl ocsp -issuer root.pem -cert province-440000-staff.pem -url http://127.0.0.1:8081 -CAfile root.pem\n' +
        'A revoked CA\'s own responder answers "revoked" for everything that CA issued.',
    )
    .action(run<ServeOpts>(serve));
}

interface RevokeOpts {
  serial?: string;
  ca?: string;
  reason: string;
  json?: boolean;
}

async function revoke(ctx: Context, opts: RevokeOpts): Promise<void> {
  if (opts.serial !== undefined && opts.ca !== undefined) {
    throw inputError(COMMAND_MESSAGES, 'pki.refuse.revokeBoth');
  }
  if (opts.serial === undefined && opts.ca === undefined) {
    throw inputError(COMMAND_MESSAGES, 'pki.refuse.revokeNeither');
  }
  const reason = parseRevocationReason(opts.reason);
  const pki = await openPki(ctx);
  if (opts.ca !== undefined) {
    await revokeCa(ctx, pki, opts.ca, reason, opts.json ?? false);
    return;
  }
  const result = await revokeCertificate(pki, opts.serial!, reason);
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t('pki.revoked', { serial: result.serial, ca: result.caId, reason, at: result.revokedAt })}\n`);
  ctx.out(`${result.crlPartition === null ? ctx.t('pki.revokedOcsp', { ca: result.caId }) : ctx.t('pki.revokedOcspPartition', { ca: result.caId, partition: result.crlPartition })}\n`);
}

async function revokeCa(ctx: Context, pki: PkiStore, id: string, reason: RevocationReason, asJson: boolean): Promise<void> {
  const result = await revokeIssuingCa(pki, id, reason);
  const { parent, unrevokedCertificatesUnder: stranded } = result;
  if (asJson) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t('pki.caRevoked', { ca: result.ca, serial: result.serial, parent, reason, at: result.revokedAt })}\n`);
  ctx.out(`${ctx.t('pki.caStranded', { count: stranded, parent })}\n`);
  ctx.out(`${ctx.t('pki.caOcsp', { parent })}\n`);
  ctx.out(`${ctx.t('pki.caSuccessor', { ca: result.ca })}\n`);
}

interface ReplaceOpts {
  ca: string;
  passphraseEnv: string;
  json?: boolean;
}

async function replace(ctx: Context, opts: ReplaceOpts): Promise<void> {
  const pki = await openPki(ctx);
  const passphrase = await pkiPassphrase(ctx, pki, opts.passphraseEnv);
  ctx.onClose(closePkcs11Sessions);
  const { replaced, successor, certificatesToReissue: reissue } = await replaceIssuingCa(pki, opts.ca, passphrase);
  const scope = successor.purpose === 'staff' ? `staff certificates of site ${successor.site} and its prefectures` : 'server, replica, OCSP and evidence-signing certificates';
  if (opts.json) {
    ctx.out(
      json({
        replaced: { id: replaced.id, serial: replaced.serial, status: replaced.status, revokedAt: replaced.revokedAt?.toISOString(), revocationReason: replaced.revocationReason },
        successor: {
          id: successor.id,
          serial: successor.serial,
          parent: successor.parentId,
          purpose: successor.purpose,
          site: successor.site,
          algorithm: successor.algorithm,
          subject: successor.subject,
          keyBackend: successor.keyBackend,
          notBefore: successor.notBefore.toISOString(),
          notAfter: successor.notAfter.toISOString(),
          replaces: successor.replaces,
        },
        certificatesToReissue: reissue,
      }),
    );
    return;
  }
  ctx.out(
    `${ctx.t('pki.replaced', { old: replaced.id, new: successor.id, serial: successor.serial, parent: successor.parentId, algorithm: successor.algorithm, backend: successor.keyBackend, notAfter: successor.notAfter.toISOString() })}\n`,
  );
  ctx.out(`${ctx.t('pki.replacedScope', { new: successor.id, old: replaced.id, scope })}\n`);
  ctx.out(`${ctx.t('pki.replacedReissue', { count: reissue, old: replaced.id })}\n`);
  ctx.out(`${ctx.t('pki.replacedPublish', { parent: successor.parentId, new: successor.id })}\n`);
}

interface CrlOpts {
  ca: string;
  delta?: boolean;
  partition?: string;
  partitionSize?: string;
  expiredEntries?: string;
  out: string;
  nextUpdate?: string;
  distributionBase?: string;
  passphraseEnv: string;
  json?: boolean;
}

async function crl(ctx: Context, opts: CrlOpts): Promise<void> {
  const validitySeconds = opts.nextUpdate === undefined ? undefined : parseDuration('--next-update', opts.nextUpdate);
  const partition = opts.partition === undefined || opts.partition === 'all' ? opts.partition : parseInteger('--partition', opts.partition, { min: 0 });
  const partitionSize = opts.partitionSize === undefined ? undefined : parseInteger('--partition-size', opts.partitionSize, CRL_PARTITION_SIZE_RANGE);
  const expiredEntries = opts.expiredEntries === undefined ? undefined : parseChoice('--expired-entries', opts.expiredEntries, CRL_EXPIRED_ENTRIES);
  const pki = await openPki(ctx);
  const distributionBase = await pki.distributionBase();
  if (opts.distributionBase !== undefined && normalizeDistributionBase(opts.distributionBase) !== distributionBase) {
    throw inputError(COMMAND_MESSAGES, 'pki.refuse.distributionBase', { text: opts.distributionBase, base: distributionBase });
  }
  const { passphrase } = await resolvePassphrase({ env: ctx.io.env, envName: opts.passphraseEnv, stateDir: ctx.stateDir, demo: () => demoPassphrase(pki) });
  if (partitionSize !== undefined || expiredEntries !== undefined) {
    await pki.setCrlSettings({ ...(partitionSize !== undefined ? { partitionSize } : {}), ...(expiredEntries !== undefined ? { expiredEntries } : {}) });
  }
  const result = await cutCrl(pki, {
    caId: opts.ca,
    delta: opts.delta ?? false,
    passphrase,
    ...(validitySeconds !== undefined ? { validitySeconds } : {}),
    distributionBase,
    outDir: opts.out,
    ...(partition !== undefined ? { partition } : {}),
  });
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  for (const c of result.crls) {
    const over = c.baseNumber !== undefined ? ctx.t('pki.crlOver', { base: c.baseNumber }) : '';
    const of = c.partition === null ? opts.ca : ctx.t('pki.crlPartitionOf', { ca: opts.ca, partition: c.partition });
    ctx.out(`${ctx.t('pki.crl', { kind: c.kind, number: c.number, over, ca: of, entries: c.entries, bytes: c.bytes, next: c.nextUpdate })}\n`);
    for (const f of c.files) ctx.out(`  ${f}\n`);
  }
  if (result.partitions.some((p) => p.partition !== null) || partitionSize !== undefined || expiredEntries !== undefined) {
    ctx.out(`${ctx.t('pki.crlSettings', { size: result.partitionSize, expired: result.expiredEntries })}\n`);
    for (const p of result.partitions) ctx.out(`${ctx.t(p.partition === null ? 'pki.crlUnpartitionedLine' : 'pki.crlPartitionLine', { partition: p.partition, certificates: p.certificates, revoked: p.revoked })}\n`);
  }
}

interface ServeOpts {
  port: string;
  host: string;
  ca: string;
  responderCert: string;
  responderKey: string;
  keyPassphraseEnv?: string;
  validity: string;
  cacheTtl: string;
}

async function serve(ctx: Context, opts: ServeOpts): Promise<void> {
  const port = parseInteger('--port', opts.port, TCP_PORT);
  const validitySeconds = parseDuration('--validity', opts.validity);
  const cacheTtlSeconds = parseDuration('--cache-ttl', opts.cacheTtl);
  const pki = await openPki(ctx);
  if (!(await pki.getCa(opts.ca))) throw unknownCa('--ca', opts.ca, await pki.listCas());
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw inputError(COMMAND_MESSAGES, 'pki.refuse.responderFile', { flag, file, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, { cause: err });
    }
  };
  let keyPassphrase: string | undefined;
  if (opts.keyPassphraseEnv !== undefined) {
    keyPassphrase = ctx.io.env[opts.keyPassphraseEnv];
    if (!keyPassphrase) throw inputError(COMMAND_MESSAGES, 'pki.refuse.responderPassphrase', { name: opts.keyPassphraseEnv });
  }
  const { ca, responder, running } = await startOcspService(pki, {
    caId: opts.ca,
    responderCertPem: read('--responder-cert', opts.responderCert),
    responderKeyPem: read('--responder-key', opts.responderKey),
    responderCertFile: opts.responderCert,
    responderKeyFile: opts.responderKey,
    ...(keyPassphrase !== undefined ? { keyPassphrase } : {}),
    validitySeconds,
    cacheTtlSeconds,
    port,
    host: opts.host,
  });
  ctx.onClose(() => running.close());
  ctx.out(`${ctx.t('pki.ocspListening', { ca: ca.id, url: running.url, pid: process.pid })}\n`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const s = responder.stats;
  ctx.out(`${ctx.t('pki.ocspStopped', { requests: s.requests, hits: s.cacheHits, malformed: s.malformed, errors: s.internalErrors })}\n`);
}
