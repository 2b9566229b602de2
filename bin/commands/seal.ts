import type { Command } from 'commander';
import { InputError } from '../../lib/errors.js';
import type { Runner } from '../runner.js';

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
        throw new InputError('seal: got no --identity, want the service sealed through client mode: jinbao --server URL --identity FILE.p12 seal (on the service\'s host: kill -USR2 <pid of jinbao serve>)');
      }),
    );
}
