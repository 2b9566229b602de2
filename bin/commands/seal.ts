import type { Command } from 'commander';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';
import { COMMAND_MESSAGES } from '../context.js';

export function register(program: Command, run: Runner): void {
  program
    .command('seal')
    .description('lock a running jinbao serve --sealed again (a national security administrator, client mode): it drops the CA keys and answers only health and /sys/unseal until custodians unseal it')
    .addHelpText(
      'after',
      '\nExamples:\n  $ jinbao --server https://pki.jinbao.internal:8443 --identity me.p12 seal\n' +
        '  $ kill -USR2 <pid of jinbao serve>     # on the service\'s host, its local operator\n' +
        'Then: jinbao unseal --server URL --share FILE, by as many custodians as the ceremony\'s threshold.',
    )
    .action(
      run(async () => {
        throw inputError(COMMAND_MESSAGES, 'seal.err.noIdentity');
      }),
    );
}
