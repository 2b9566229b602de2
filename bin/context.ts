import { resolveLang, translator, type CatalogueRef, type Lang, type Translate } from '../lib/i18n/index.js';
import { resolveState } from '../lib/state.js';
import { LocalOpsContext } from '../orchestration/index.js';

/** What the commands print for people, in each language. */
export const COMMAND_MESSAGES: CatalogueRef = { ns: 'cli', dir: 'bin/commands/locales' };

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  readonly inventory?: string;
  readonly state?: string;
  readonly lang?: string;
  readonly debug?: boolean;
  /** Client mode: the service, the operator's PKCS#12 identity, the CA the service's certificate chains to. */
  readonly server?: string;
  readonly identity?: string;
  readonly serverCa?: string;
}

/**
 * What every command gets: output streams, the inventory and the state store, opened on first use.
 * It is the operations' context too (OpsContext), so a command passes itself to them.
 */
export class Context extends LocalOpsContext {
  readonly io: Io;
  readonly global: GlobalOptions;
  /** The language of human-readable output (`--lang`, else the locale); machine-readable output ignores it. */
  readonly lang: Lang;
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  /** Run a whole jinbao command line in this process (the service runs operators' commands with it). */
  readonly runCommandLine: (argv: readonly string[], io: Io) => Promise<number>;

  constructor(io: Io, global: GlobalOptions, runCommandLine: (argv: readonly string[], io: Io) => Promise<number>) {
    super({ state: resolveState(global.state, io.env), inventory: global.inventory, env: io.env });
    this.runCommandLine = runCommandLine;
    this.io = io;
    this.global = global;
    this.lang = resolveLang(global.lang, io.env);
  }

  /** The commands' messages (bin/commands/locales/) in the user's language. */
  get t(): Translate {
    return translator(this.lang, COMMAND_MESSAGES);
  }

  /** Where the inventory came from, as a person reads it: the file, or the built-in inventory's name in the user's language. */
  get inventorySourceText(): string {
    // the commands' catalogue (bin/commands/locales), not bin/locales (help texts)
    const commands = translator(this.lang, COMMAND_MESSAGES);
    return this.builtInInventory ? commands('inventory.builtIn') : this.inventorySource;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** Register work to run when the command ends (closing servers, stores). */
  onClose(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  override async close(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    await super.close();
  }
}
