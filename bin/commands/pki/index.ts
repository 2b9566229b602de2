import type { Command } from 'commander';
import type { Runner } from '../../runner.js';
import { register as core } from './core.js';
import { register as revocation } from './revocation.js';
import { register as rollover } from './rollover.js';

/** Subcommand groups of `jinbao pki`: each adds its subcommands to the `pki` command. */
const PKI_SUBCOMMANDS: readonly ((pki: Command, run: Runner) => void)[] = [core, revocation, rollover];

export function register(program: Command, run: Runner): void {
  const pki = program
    .command('pki')
    .description('certificate authorities for staff certificates and DR replica mTLS: init, issue, revoke, CRL, OCSP');
  for (const add of PKI_SUBCOMMANDS) add(pki, run);
}
