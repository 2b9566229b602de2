/** Exit codes shared by every command (documented in docs/cli.md). */
export const ExitCode = {
  ok: 0,
  internal: 1,
  invalidInput: 2,
  complianceFailed: 3,
  unavailable: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface JinbaoErrorOptions {
  readonly exitCode?: number;
  readonly details?: readonly string[];
  readonly cause?: unknown;
  readonly localized?: CatalogueMessage;
  /** `details`, each as a catalogue message when it has one (same order; undefined: only the English text). */
  readonly localizedDetails?: readonly (CatalogueMessage | undefined)[];
}

/**
 * A message from a catalogue (lib/i18n): which one, its key and its values. An error that carries
 * one can be printed in the user's language; its `message` stays the English text.
 */
export interface CatalogueMessage {
  readonly catalogue: { readonly ns: string; readonly dir: string };
  readonly key: string;
  /** Values; a value that is itself a catalogue message is said in the same language. */
  readonly params?: Readonly<Record<string, string | number | CatalogueMessage>>;
}

/**
 * An error the user can act on. The message says what happened and how to fix it;
 * the entry point prints it without a stack trace and exits with `exitCode`.
 */
export class JinbaoError extends Error {
  readonly exitCode: number;
  readonly details: readonly string[];
  /** The message as a catalogue entry, when it has one: the top-level handler prints it in the user's language. */
  readonly localized?: CatalogueMessage;
  readonly localizedDetails?: readonly (CatalogueMessage | undefined)[];

  constructor(message: string, opts: JinbaoErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'JinbaoError';
    this.exitCode = opts.exitCode ?? ExitCode.invalidInput;
    this.details = opts.details ?? [];
    if (opts.localized) this.localized = opts.localized;
    if (opts.localizedDetails) this.localizedDetails = opts.localizedDetails;
  }
}

/** Bad input from the user: exit code 2. */
export class InputError extends JinbaoError {
  constructor(message: string, opts: Omit<JinbaoErrorOptions, 'exitCode'> = {}) {
    super(message, { ...opts, exitCode: ExitCode.invalidInput });
    this.name = 'InputError';
  }
}

/** A needed tool, service or package is missing on this machine: exit code 4. */
export class UnavailableError extends JinbaoError {
  constructor(message: string, opts: Omit<JinbaoErrorOptions, 'exitCode'> = {}) {
    super(message, { ...opts, exitCode: ExitCode.unavailable });
    this.name = 'UnavailableError';
  }
}
