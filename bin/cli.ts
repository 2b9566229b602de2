import { Command, CommanderError, Option } from 'commander';
import { ExitCode, JinbaoError } from '../lib/errors.js';
import { detailTexts, errorText, langFromArgs, translator, type Lang } from '../lib/i18n/index.js';
import { packageVersion } from '../lib/package-info.js';
import { COMMANDS } from './commands/index.js';
import { runRemote } from './client.js';
import { Context, type GlobalOptions, type Io } from './context.js';
import { CLI, localizeHelp, recordCommanderFailures, translateCommanderError, type CommanderFailures } from './help.js';
import type { CommandAction, Runner } from './runner.js';

/** Build the `jinbao` program; `exitCode` receives the command's result; help and parse errors speak `lang`. */
export function buildProgram(io: Io, result: { exitCode: number }, lang: Lang = 'en'): Command {
  const program = new Command('jinbao');
  let failures: CommanderFailures | undefined;
  program
    .description(
      'Operations suite for the Golden Security (金保) national data-center fabric:\n' +
        'one typed inventory of ministry → provinces → prefectures, rendered into stacks, WAN overlay,\n' +
        'certificates, DR drills, metrics and compliance evidence.',
    )
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--inventory <file>', 'inventory file (YAML or JSON); default: the built-in national inventory'))
    .addOption(new Option('--state <dir>', 'state directory (embedded SQLite store)').default(undefined, '$JINBAO_STATE or .jinbao/'))
    .addOption(new Option('--lang <lang>', 'language of messages and reports: en or zh-CN').default(undefined, 'the locale: LC_ALL > LC_MESSAGES > LANG, zh_CN.* is Chinese'))
    .option('--debug', 'show stack traces for errors')
    .addOption(new Option('--server <url>', 'the jinbao serve to talk to: client mode (with --identity) or jinbao unseal'))
    .addOption(new Option('--identity <file>', 'client mode: your operator certificate (PKCS#12; its password in JINBAO_IDENTITY_PASSPHRASE)'))
    .addOption(new Option('--server-ca <file>', 'with --server: the CA the service\'s TLS certificate chains to (PEM); default: the root in the identity bundle, else the system\'s trust store'))
    // English needs no catalogue: loading one costs every command 30-50 ms
    .showHelpAfterError(lang === 'en' ? '(run with --help for usage)' : translator(lang, CLI)('help.afterError'))
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(translateCommanderError(s, lang, failures?.take())),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
Start here:
  $ jinbao up                              validate, allocate, synthesize and report on the built-in inventory
  $ jinbao inventory show                  what the fabric holds (sample figures are labelled)
  $ jinbao inventory export > national.yaml && jinbao --inventory national.yaml inventory validate
  $ jinbao kpi                             the plan's 2015 targets against the inventory

Exit codes: 0 ok, 1 internal error, 2 invalid input, 3 a check failed (comply, audit verify, drill),
4 a needed tool is missing, 5 pending approval (dual control, docs/operators.md).
Docs: docs/architecture.md, docs/inventory.md, docs/cli.md`,
    );

  const run: Runner =
    <O>(action: CommandAction<O>) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const opts = command.opts() as O;
      const global = command.optsWithGlobals() as GlobalOptions;
      const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
      const ctx = new Context(io, global, main);
      try {
        const code = await action(ctx, opts, positional);
        result.exitCode = code ?? ExitCode.ok;
      } finally {
        await ctx.close();
      }
    };

  for (const register of COMMANDS) register(program, run);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());
  localizeHelp(program, lang);
  if (lang !== 'en') failures = recordCommanderFailures(program);
  return program;
}

/** Run the CLI with `argv` (without node and script); returns the exit code. Holds the single top-level catch. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  const result = { exitCode: ExitCode.ok as number };
  const lang = langFromArgs(argv, io.env);
  if (argv.some((a) => a === '--identity' || a.startsWith('--identity='))) {
    try {
      return await runRemote(argv, io, lang);
    } catch (err) {
      return reportError(err, io, argv.includes('--debug'), lang);
    }
  }
  const program = buildProgram(io, result, lang);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.exitCode;
  } catch (err) {
    return reportError(err, io, argv.includes('--debug'), lang);
  }
}

function reportError(err: unknown, io: Io, debug: boolean, lang: Lang): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
    if (err.exitCode === 0) return ExitCode.ok;
    return ExitCode.invalidInput;
  }
  if (err instanceof JinbaoError) {
    io.stderr.write(`jinbao: ${errorText(err, lang)}\n`);
    for (const d of detailTexts(err, lang)) io.stderr.write(`  - ${d}\n`);
    if (debug && err.stack) io.stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const t = translator(lang, CLI);
  io.stderr.write(`jinbao: ${t('errors.internal', { message: e.message })}\n`);
  io.stderr.write(debug ? `${e.stack ?? ''}\n` : `${t('errors.debugHint')}\n`);
  return ExitCode.internal;
}
