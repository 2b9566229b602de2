import type { Command } from 'commander';
import { json } from '../../../lib/output.js';
import { closePkcs11Sessions, DEFAULT_PASSPHRASE_ENV, requireRootCa } from '../../../pki/index.js';
import { openPki, rolloverIssuingCa } from '../../../pki/operations.js';
import type { Context } from '../../context.js';
import type { Runner } from '../../runner.js';
import { pkiPassphrase } from './passphrase.js';

interface RolloverOpts {
  ca: string;
  passphraseEnv: string;
  json?: boolean;
}

export function register(pki: Command, run: Runner): void {
  pki
    .command('rollover-ca')
    .description('planned rollover of an active issuing CA: a successor takes over issuance, the old CA retires once its last certificate expires')
    .requiredOption('--ca <id>', 'the active issuing CA (as jinbao pki cas lists it), e.g. province-440000-staff')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (or the token PIN)', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe successor is signed by the same parent (the root), with the same purpose, site and algorithm, a new key in the same\n' +
        'backend and the next id of the line (province-440000-staff → province-440000-staff-2; its CN gets " G2"). From then on\n' +
        'everything that picks a CA by purpose (pki issue, CMP, ACME, staff enroll and sync, replica TLS) uses the successor, and\n' +
        'renewals (CMP kur, staff sync re-issues) move holders to it. The old CA becomes retiring: it issues nothing (its own\n' +
        'delegated OCSP responder certificate excepted), but keeps signing its CRLs and OCSP answers, so the certificates it\n' +
        'issued stay valid and revocable and relying parties that trust the root notice nothing. Once its last certificate\n' +
        'has expired it is retired (jinbao serve and jinbao pki cas notice; audited). Refused (exit 2, audited): unknown ids,\n' +
        'the root, a CA that is not active (a revoked one is replaced: pki replace-ca) and a CA that has a successor already.\n\n' +
        'Examples:\n' +
        '  $ jinbao pki cas                                           # which CA nears the end of its validity\n' +
        '  $ jinbao pki rollover-ca --ca province-440000-staff          # province-440000-staff-2 issues from now on\n' +
        '  $ jinbao pki cas --pem province-440000-staff-2 > g2.pem      # publish the successor beside the old CA certificate\n' +
        '  $ jinbao pki crl --ca province-440000-staff-2 --out /srv/pki/crl',
    )
    .action(run<RolloverOpts>(rollover));
}

async function rollover(ctx: Context, opts: RolloverOpts): Promise<void> {
  const pki = await openPki(ctx);
  await requireRootCa(pki);
  const passphrase = await pkiPassphrase(ctx, pki, opts.passphraseEnv);
  ctx.onClose(closePkcs11Sessions);
  const { retiring, successor } = await rolloverIssuingCa(pki, opts.ca, passphrase);
  if (opts.json) return void ctx.out(json({ retiring, successor }));
  const day = (iso: string | null) => (iso === null ? '—' : iso.slice(0, 10));
  ctx.out(`${ctx.t('pki.rollover.done', { old: retiring.id, new: successor.id, serial: successor.serial, parent: successor.parent, algorithm: successor.algorithm, backend: successor.keyBackend, notAfter: day(successor.notAfter) })}\n`);
  ctx.out(`${retiring.validCertificates > 0 ? ctx.t('pki.rollover.retiring', { old: retiring.id, count: retiring.validCertificates, until: day(retiring.lastCertificateExpiry) }) : ctx.t('pki.rollover.retiringEmpty', { old: retiring.id })}\n`);
  ctx.out(`${ctx.t('pki.rollover.publish', { new: successor.id })}\n`);
}
