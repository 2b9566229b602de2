import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { InputError } from '../../../lib/errors.js';
import { inputError } from '../../../lib/i18n/index.js';
import { parseChoice, parseDays, parseInteger } from '../../../lib/options.js';
import { json, table } from '../../../lib/output.js';
import {
  CA_ALGORITHMS,
  DEFAULT_PASSPHRASE_ENV,
  PROFILE_NAMES,
  Pkcs11KeyBackend,
  closePkcs11Sessions,
  fileDelivery,
  initHierarchy,
  normalizeDistributionBase,
  parseCaAlgorithm,
  toPem,
  type CertificateRecord,
  type PkiStore,
} from '../../../pki/index.js';
import { caTimeline, issueCertificate, openPki, type CaTimelineEntry } from '../../../pki/operations.js';
import type { Translate } from '../../../lib/i18n/index.js';
import { COMMAND_MESSAGES, type Context } from '../../context.js';
import type { Runner } from '../../runner.js';
import { pkiPassphrase } from './passphrase.js';

const DAY = 86_400_000;

function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function register(pki: Command, run: Runner): void {
  pki
    .command('init')
    .description('create the CA hierarchy: national root, ministry staff CA, infrastructure CA (province staff CAs follow on first use)')
    .option('--algorithm <alg>', `key and signature algorithm of every CA: ${CA_ALGORITHMS.join(' | ')}`, 'ecdsa-p256')
    .option('--passphrase-env <name>', 'environment variable holding the passphrase that encrypts the CA keys (PKCS#8), or the token PIN', DEFAULT_PASSPHRASE_ENV)
    .option('--pkcs11-module <path>', 'keep the CA keys in a PKCS#11 token instead, e.g. /usr/lib/softhsm/libsofthsm2.so')
    .option('--token-label <label>', 'with --pkcs11-module: the token to use')
    .option('--distribution-base <url>', 'the one base of the CRL, OCSP (/ocsp/<ca-id>) and CA-certificate URLs every certificate and CRL of this hierarchy names, issuing CAs included (the plain-HTTP address of jinbao serve --http-listen)', 'http://pki.jinbao.internal')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe passphrase comes from the variable named by --passphrase-env, else a prompt on a terminal; at least 12 characters.\n' +
        'Keys are stored encrypted (PKCS#8, PBKDF2-SHA256) in the state store. With sm2 every CA signs SM3-with-SM2 (distinguishing ID 1234567812345678).\n\n' +
        'With --pkcs11-module the keys are generated inside the token (non-extractable) and the variable holds its user PIN.\n\n' +
        'Examples:\n  $ export JINBAO_PKI_PASSPHRASE=...; jinbao --state /var/lib/jinbao pki init --algorithm sm2\n  $ jinbao pki init --passphrase-env CA_PASS --json\n' +
        '  $ HSM_PIN=... jinbao pki init --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --token-label jinbao-ca --passphrase-env HSM_PIN',
    )
    .action(run<InitOptions>(init));

  pki
    .command('issue')
    .description('issue a certificate through the profile pipeline; writes the certificate, its chain and (with --generate) the key')
    .requiredOption('--profile <name>', `certificate profile: ${PROFILE_NAMES.join(' | ')}`)
    .requiredOption('--site <id>', 'inventory site the holder belongs to (six-digit code)')
    .option('--csr <file>', 'PKCS#10 request (PEM or DER) signed by the holder\'s key')
    .option('--generate', 'generate the key here (server-tls, replica-mtls, ocsp-signing only)')
    .option('--subject <dn>', 'with --generate: the subject, e.g. "CN=pg.440100.jinbao.internal"')
    .option('--key-algorithm <alg>', `with --generate: ${CA_ALGORITHMS.join(' | ')} (default: the hierarchy's)`)
    .option('--days <n>', 'validity in days (default and maximum set by the profile)')
    .option('--dns <names>', 'DNS subjectAltNames, comma-separated', list)
    .option('--ip <addresses>', 'IPv4 subjectAltNames, comma-separated', list)
    .option('--email <addresses>', 'email subjectAltNames, comma-separated', list)
    .option('--identity-code <id>', 'GM/T 0015 resident identity number (staff profiles)')
    .option('--insurance-number <n>', 'GM/T 0015 social-insurance number (staff profiles)')
    .option('--application <domain>', 'server-tls: the business domain this server runs (e.g. employee-insurance)')
    .option('--ca <id>', 'ocsp-signing: the CA the responder answers for (default: the current infrastructure CA, infrastructure or its successor; root for the responder that answers for the issuing CAs)')
    .option('--out <dir>', 'where to write the files', '.')
    .option('--p12', 'also write a PKCS#12 bundle (needs the private key: --generate or --key)')
    .option('--key <file>', 'with --csr and --p12: the holder\'s private key (PKCS#8 PEM)')
    .option('--p12-passphrase-env <name>', 'variable holding the PKCS#12 password (at least 12 characters)', 'JINBAO_P12_PASSPHRASE')
    .option('--passphrase-env <name>', 'variable holding the CA key passphrase', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nPipeline: CSR proof of possession → profile checks → modifiers (C=CN, the site\'s O) → validators → enforcers → sign → store + audit.\n' +
        'Every refusal says what and why, exits 2, changes nothing, and is recorded in the audit log.\n\n' +
        'Examples:\n' +
        '  $ openssl req -new -key staff.key -subj "/CN=张三/serialNumber=S0001" -utf8 -out staff.csr\n' +
        '  $ jinbao pki issue --profile staff-auth --site 440100 --csr staff.csr --out certs/\n' +
        '  $ jinbao pki issue --profile server-tls --site 440100 --generate --subject "CN=yl.440100.jinbao.internal" --application employee-insurance --p12\n' +
        '  $ jinbao pki issue --profile ocsp-signing --site 000000 --ca ministry-staff --generate --subject "CN=OCSP ministry-staff"',
    )
    .action(run<IssueOptions>(issue));

  pki
    .command('list')
    .description('issued certificates, newest last')
    .option('--site <id>', 'only this site')
    .option('--profile <name>', 'only this profile')
    .option('--status <s>', 'active | revoked')
    .option('--ca <id>', 'only those issued by this CA (as jinbao pki cas lists it), e.g. a revoked CA whose certificates need re-issuing')
    .option('--expiring <period>', 'only those expiring within the period, e.g. 30d')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ jinbao pki list --site 440100\n  $ jinbao pki list --expiring 30d --json\n  $ jinbao pki list --ca province-440000-staff --status active')
    .action(run<{ site?: string; profile?: string; status?: string; ca?: string; expiring?: string; json?: boolean }>(listCerts));

  pki
    .command('show')
    .description('one certificate by serial (hex, as pki list or openssl print it)')
    .argument('<serial>')
    .option('--pem', 'print the certificate in PEM')
    .option('--json', 'machine-readable output')
    .action(run<{ pem?: boolean; json?: boolean }>(show));

  pki
    .command('cas')
    .description('the CA hierarchy as a timeline: root, issuing CAs, validity, status (active, retiring, retired, revoked), successors, last certificate expiry')
    .option('--pem <id>', 'print only this CA\'s certificate in PEM (e.g. root, for a trust store)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nA retiring CA (after jinbao pki rollover-ca) issues nothing: its successor does. It still signs its CRLs and OCSP\n' +
        'answers until the last certificate it issued expires (the "last cert" column); then it is retired.\n\n' +
        'Examples:\n  $ jinbao pki cas\n  $ jinbao pki cas --json\n  $ jinbao pki cas --pem root > root.pem',
    )
    .action(run<{ pem?: string; json?: boolean }>(cas));
}

function open(ctx: Context): Promise<PkiStore> {
  return openPki(ctx);
}

interface InitOptions {
  algorithm: string;
  passphraseEnv: string;
  pkcs11Module?: string;
  tokenLabel?: string;
  distributionBase: string;
  json?: boolean;
}

async function init(ctx: Context, opts: InitOptions): Promise<void> {
  const algorithm = parseCaAlgorithm(opts.algorithm);
  const distributionBase = normalizeDistributionBase(opts.distributionBase);
  if ((opts.pkcs11Module === undefined) !== (opts.tokenLabel === undefined)) throw inputError(COMMAND_MESSAGES, 'pki.refuse.pkcs11Pair');
  const store = await open(ctx);
  const token = opts.pkcs11Module !== undefined ? new Pkcs11KeyBackend({ module: opts.pkcs11Module, token: opts.tokenLabel! }) : undefined;
  if (token) ctx.onClose(() => token.close());
  const passphrase = await pkiPassphrase(ctx, store, opts.passphraseEnv, token === undefined);
  const created = await initHierarchy(store, { algorithm, passphrase, distributionBase, ...(token ? { backend: token } : {}) });
  const all = await caTimeline(store, { settle: false });
  const timeline = created.map((c) => all.find((t) => t.id === c.id)!);
  if (opts.json) {
    ctx.out(json({ algorithm, cas: timeline }));
    return;
  }
  ctx.out(`${token ? ctx.t('pki.createdInToken', { dir: ctx.stateDir, algorithm, token: opts.tokenLabel }) : ctx.t('pki.created', { dir: ctx.stateDir, algorithm, where: store.where })}\n\n`);
  ctx.out(caTable(timeline, ctx.t));
}

interface IssueOptions {
  profile: string;
  site: string;
  csr?: string;
  generate?: boolean;
  subject?: string;
  keyAlgorithm?: string;
  days?: string;
  dns?: string[];
  ip?: string[];
  email?: string[];
  identityCode?: string;
  insuranceNumber?: string;
  application?: string;
  ca?: string;
  out: string;
  p12?: boolean;
  key?: string;
  p12PassphraseEnv: string;
  passphraseEnv: string;
  json?: boolean;
}

/** An unknown CA id given to `flag`: the known ones, or how to create a hierarchy when there are none. */
export function unknownCa(flag: string, id: string, known: readonly { readonly id: string }[]): InputError {
  return known.length === 0 ? inputError(COMMAND_MESSAGES, 'pki.refuse.unknownCaNone', { flag, id }) : inputError(COMMAND_MESSAGES, 'pki.refuse.unknownCa', { flag, id, known: known.map((c) => c.id).join(', ') });
}

function readInput(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? inputError(COMMAND_MESSAGES, 'pki.refuse.noSuchFile', { flag: what, file }, { cause: err }) : inputError(COMMAND_MESSAGES, 'pki.refuse.cannotRead', { flag: what, file, reason: code ?? (err as Error).message }, { cause: err });
  }
}

async function issue(ctx: Context, o: IssueOptions): Promise<void> {
  const fabric = ctx.fabric();
  if (o.generate && o.subject === undefined) throw inputError(COMMAND_MESSAGES, 'pki.refuse.generateNeedsSubject');
  if (!o.generate && o.subject !== undefined) throw inputError(COMMAND_MESSAGES, 'pki.refuse.subjectWithCsr');
  const days = o.days === undefined ? undefined : parseInteger('--days', o.days, { min: 1, what: 'days' });
  const p12Password = o.p12 ? ctx.io.env[o.p12PassphraseEnv] : undefined;
  if (o.p12) {
    if (!o.generate && o.key === undefined) throw inputError(COMMAND_MESSAGES, 'pki.refuse.p12NeedsKey');
    if (!p12Password) throw inputError(COMMAND_MESSAGES, 'pki.refuse.p12NoPassword', { name: o.p12PassphraseEnv });
  }
  const keyPem = o.key !== undefined ? readInput(o.key, '--key').toString('utf8') : undefined;
  const csr = o.csr !== undefined ? readInput(o.csr, '--csr') : undefined;
  const store = await open(ctx);
  const passphrase = await pkiPassphrase(ctx, store, o.passphraseEnv);
  ctx.onClose(closePkcs11Sessions);
  const { issued, files } = await issueCertificate(store, fabric, passphrase, {
    profile: o.profile,
    site: o.site,
    ...(csr ? { csr } : {}),
    ...(o.generate ? { generate: { subject: o.subject!, ...(o.keyAlgorithm ? { algorithm: parseCaAlgorithm(o.keyAlgorithm) } : {}) } } : {}),
    ...(days !== undefined ? { validityDays: days } : {}),
    ...(o.dns ? { dns: o.dns } : {}),
    ...(o.ip ? { ip: o.ip } : {}),
    ...(o.email ? { email: o.email } : {}),
    ...(o.identityCode !== undefined ? { identityCode: o.identityCode } : {}),
    ...(o.insuranceNumber !== undefined ? { insuranceNumber: o.insuranceNumber } : {}),
    ...(o.application !== undefined ? { application: o.application } : {}),
    ...(o.ca !== undefined ? { caId: o.ca } : {}),
  }, {
    outDir: o.out,
    ...(keyPem !== undefined ? { keyPem } : {}),
    ...(o.p12 ? { p12Password: p12Password! } : {}),
  });
  if (o.json) {
    ctx.out(json({ certificate: certView(issued.record), files }));
    return;
  }
  ctx.out(`${ctx.t('pki.issued', { profile: issued.record.profile, serial: issued.record.serial, subject: issued.record.subject, ca: issued.record.caId, notAfter: issued.record.notAfter.toISOString() })}\n`);
  for (const [k, v] of Object.entries(files)) ctx.out(`  ${k.padEnd(11)} ${v}\n`);
}

async function listCerts(ctx: Context, o: { site?: string; profile?: string; status?: string; ca?: string; expiring?: string; json?: boolean }): Promise<void> {
  if (o.site !== undefined && !ctx.fabric().has(o.site)) throw inputError(COMMAND_MESSAGES, 'pki.refuse.site', { site: o.site });
  const status = o.status === undefined ? undefined : parseChoice('--status', o.status, ['active', 'revoked'] as const);
  if (o.profile !== undefined) parseChoice('--profile', o.profile, PROFILE_NAMES);
  const store = await open(ctx);
  if (o.ca !== undefined && !(await store.getCa(o.ca))) throw unknownCa('--ca', o.ca, await store.listCas());
  const now = new Date();
  const certs = await store.listCertificates({
    ...(o.ca !== undefined ? { caId: o.ca } : {}),
    ...(o.site !== undefined ? { site: o.site } : {}),
    ...(o.profile !== undefined ? { profile: o.profile } : {}),
    ...(status !== undefined ? { status } : {}),
    ...(o.expiring !== undefined ? { expiringBefore: new Date(now.getTime() + parseDays('--expiring', o.expiring) * DAY), validAt: now } : {}),
  });
  if (o.json) {
    ctx.out(json({ certificates: certs.map(certView) }));
    return;
  }
  if (certs.length === 0) {
    ctx.out(`${ctx.t('pki.noMatch')}\n`);
    return;
  }
  ctx.out(
    table(certs, [
      { header: ctx.t('pki.col.serial'), value: (c) => c.serial },
      { header: ctx.t('pki.col.profile'), value: (c) => c.profile },
      { header: ctx.t('pki.col.site'), value: (c) => c.site },
      { header: ctx.t('pki.col.subject'), value: (c) => c.commonName },
      { header: ctx.t('pki.col.notAfter'), value: (c) => c.notAfter.toISOString().slice(0, 10) },
      { header: ctx.t('pki.col.status'), value: (c) => (c.status === 'revoked' ? ctx.t('pki.status.revoked', { reason: c.revocationReason ?? '' }) : c.notAfter <= now ? ctx.t('pki.status.expired') : ctx.t('pki.status.active')) },
    ]),
  );
}

async function show(ctx: Context, o: { pem?: boolean; json?: boolean }, args: string[]): Promise<void> {
  const serial = args[0]!;
  const cert = await (await open(ctx)).findCertificate(serial);
  if (!cert) throw inputError(COMMAND_MESSAGES, 'pki.refuse.unknownSerial', { serial });
  if (o.pem) return void ctx.out(toPem(cert.der));
  if (o.json) return void ctx.out(json(certView(cert)));
  const v = certView(cert);
  for (const [k, val] of Object.entries(v)) if (k !== 'pem') ctx.out(`${k.padEnd(16)} ${Array.isArray(val) ? val.join(', ') : String(val ?? '—')}\n`);
}

async function cas(ctx: Context, o: { pem?: string; json?: boolean }): Promise<void> {
  const store = await open(ctx);
  if (o.pem !== undefined) {
    const all = await store.listCas();
    const ca = all.find((c) => c.id === o.pem);
    if (!ca) throw unknownCa('--pem', o.pem, all);
    return void ctx.out(toPem(ca.der));
  }
  const all = await caTimeline(store);
  if (o.json) return void ctx.out(json({ cas: all }));
  if (all.length === 0) return void ctx.out(`${ctx.t('pki.noHierarchy')}\n`);
  ctx.out(caTable(all, ctx.t));
}

const day = (iso: string | null) => (iso === null ? '—' : iso.slice(0, 10));

/** What the status column says: the state, and where the CA stands in its line (successor, predecessor, until when it still signs). */
function caStatusText(c: CaTimelineEntry, t: Translate): string {
  const status = t(`pki.caStatus.${c.status}`, { defaultValue: c.status });
  if (c.status === 'retiring') return t('pki.status.retiring', { status, successor: c.successor ?? '?', until: day(c.lastCertificateExpiry) });
  if (c.status === 'retired') return t('pki.status.retired', { status, successor: c.successor ?? '?', at: day(c.retiredAt) });
  if (c.successor !== null) return t('pki.status.replaced', { status, successor: c.successor });
  if (c.replaces !== null) return t('pki.status.succeeds', { status, predecessor: c.replaces });
  return status;
}

function caTable(cas: readonly CaTimelineEntry[], t: Translate): string {
  return table(cas, [
    { header: t('pki.col.id'), value: (c) => c.id },
    { header: t('pki.col.role'), value: (c) => t(`pki.role.${c.role}`, { defaultValue: c.role }) },
    { header: t('pki.col.algorithm'), value: (c) => c.algorithm },
    { header: t('pki.col.subject'), value: (c) => c.subject },
    { header: t('pki.col.validity'), value: (c) => `${day(c.notBefore)} – ${day(c.notAfter)}` },
    { header: t('pki.col.lastCertificate'), value: (c) => day(c.lastCertificateExpiry) },
    { header: t('pki.col.status'), value: (c) => caStatusText(c, t) },
  ]);
}

function certView(c: CertificateRecord) {
  return {
    serial: c.serial,
    profile: c.profile,
    profileVersion: c.profileVersion,
    site: c.site,
    ca: c.caId,
    subject: c.subject,
    staffNumber: c.staffNumber,
    application: c.application,
    sans: c.sans,
    keyType: c.keyType,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    status: c.status,
    revokedAt: c.revokedAt,
    revocationReason: c.revocationReason,
    issuedAt: c.issuedAt,
  };
}
