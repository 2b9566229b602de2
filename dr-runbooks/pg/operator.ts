import { $, expBackoff, retry, type Shell } from 'zx';
import { catalogueMessage, type MessageParams } from '../../lib/i18n/index.js';
import { StepFailure } from '../engine.js';
import { DR_MESSAGES, said } from '../messages.js';
import { COMMANDS, fillPlaceholders, type CommandName, type PairConfig, type PairNodeConfig } from './pair-config.js';

/** One operator command as it ran. */
export interface CommandRecord {
  readonly command: CommandName;
  readonly argv: readonly string[];
  readonly attempts: number;
  readonly ms: number;
  readonly exitCode: number | null;
  readonly stdout: string;
}

/**
 * An operator command failed (after its retries): what ran, how it ended, its last words. A step
 * failure from the dr-runbooks catalogue (`step.operatorCommand.<key>`), so the drill says it in
 * the reader's language.
 */
export class OperatorCommandError extends StepFailure {
  constructor(key: 'failed' | 'failedSaid' | 'notSet', params: MessageParams, options: { cause?: unknown } = {}) {
    super(`step.operatorCommand.${key}`, params, options);
    this.name = 'OperatorCommandError';
  }
}


/**
 * Runs the pair file's commands: placeholders filled per call, each argument passed as one
 * argument (zx quotes it), bounded by the command's timeout, retried with exponential backoff
 * as often as the file (or the command's default) allows.
 */
export class OperatorCommands {
  private readonly config: PairConfig;
  private readonly site: string;
  private readonly sh: Shell;
  onRun?: (record: CommandRecord) => void;

  constructor(config: PairConfig, site: string, shell?: Shell) {
    this.config = config;
    this.site = site;
    this.sh = shell ?? $({ quiet: true, verbose: false });
  }

  has(name: CommandName): boolean {
    return this.config.commands[name] !== undefined;
  }

  /** The argument list `name` would run for `node`, placeholders filled. */
  resolve(name: CommandName, node: string, extra: { from?: string } = {}): string[] {
    const command = this.config.commands[name];
    if (!command) throw new OperatorCommandError('notSet', { source: this.config.source, command: name, usedBy: COMMANDS[name].usedBy });
    const self = this.node(node);
    const peer = this.config.nodes.find((n) => n.name !== node)!;
    return fillPlaceholders(command.argv, {
      '{site}': this.site,
      '{node}': self.name,
      '{host}': self.host,
      '{port}': String(self.port),
      '{peer}': peer.name,
      '{peerHost}': peer.host,
      '{peerPort}': String(peer.port),
      ...(extra.from === undefined ? {} : { '{from}': extra.from }),
    });
  }

  async run(name: CommandName, node: string, extra: { from?: string } = {}): Promise<CommandRecord> {
    const command = this.config.commands[name]!;
    const args = this.resolve(name, node, extra);
    const [program, ...rest] = args;
    const started = performance.now();
    let attempts = 0;
    try {
      const out = await retry(command.retries + 1, expBackoff('5s', '200ms'), async () => {
        attempts += 1;
        return this.sh`${program!} ${rest}`.timeout(command.timeoutMs);
      });
      const record = { command: name, argv: args, attempts, ms: performance.now() - started, exitCode: out.exitCode, stdout: out.stdout.trim() };
      this.onRun?.(record);
      return record;
    } catch (err) {
      const out = err as { exitCode?: number | null; signal?: string | null; stderr?: string; stdout?: string; message?: string };
      const lastWords = (out.stderr || out.stdout || out.message || '').trim().split('\n').slice(-3).join(' | ');
      const ended =
        out.signal === 'SIGTERM' && performance.now() - started >= command.timeoutMs
          ? said('step.operatorCommand.ended.timedOut', { seconds: command.timeoutMs / 1000 })
          : out.exitCode != null
            ? said('step.operatorCommand.ended.exit', { code: out.exitCode })
            : out.signal
              ? said('step.operatorCommand.ended.killed', { signal: out.signal })
              : said('step.operatorCommand.ended.failed');
      this.onRun?.({ command: name, argv: args, attempts, ms: performance.now() - started, exitCode: out.exitCode ?? null, stdout: (out.stdout ?? '').trim() });
      const failed = { command: name, node, ended, attempts: said('step.operatorCommand.attempts', { count: attempts }), argv: args.join(' '), source: this.config.source };
      throw lastWords ? new OperatorCommandError('failedSaid', { ...failed, lastWords }, { cause: err }) : new OperatorCommandError('failed', failed, { cause: err });
    }
  }

  private node(name: string): PairNodeConfig {
    const n = this.config.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node "${name}" in ${this.config.source}; it has ${this.config.nodes.map((x) => x.name).join(' and ')}`);
    return n;
  }
}
