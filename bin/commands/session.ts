import type { Command } from 'commander';
import { inputError } from '../../lib/i18n/index.js';
import { COMMAND_MESSAGES } from '../context.js';
import type { Runner } from '../runner.js';

/**
 * `jinbao login` and `jinbao logout` belong to client mode (bin/client-auth.ts carries them out
 * with --server and --identity); registered here for help and for a clear refusal without them.
 */
export function register(program: Command, run: Runner): void {
  program
    .command('login')
    .description('client mode: open a session with the service (your password once; the session is bound to your certificate and ends after --session-timeout unused)')
    .addHelpText(
      'after',
      '\nThe password comes from JINBAO_OPERATOR_PASSWORD or is asked without echo on a terminal. The session token is kept in a file only you read\n' +
        '(mode 0600) under $XDG_CONFIG_HOME/jinbao/sessions (default ~/.config), or at JINBAO_SESSION_FILE.\n\n' +
        'Example:\n  $ jinbao --server https://pki.jinbao.internal:8443 --identity me.p12 login',
    )
    .action(run(async () => {
      throw inputError(COMMAND_MESSAGES, 'client.localOnly', { command: 'login' });
    }));
  program
    .command('logout')
    .description('client mode: end the session opened by jinbao login')
    .addHelpText('after', '\nExample:\n  $ jinbao --server https://pki.jinbao.internal:8443 --identity me.p12 logout')
    .action(run(async () => {
      throw inputError(COMMAND_MESSAGES, 'client.localOnly', { command: 'logout' });
    }));
}
