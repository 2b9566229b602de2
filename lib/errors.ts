/** Exit codes shared by every command (documented in docs/cli.md). */
export const ExitCode = {
  ok: 0,
  internal: 1,
  invalidInput: 2,
  complianceFailed: 3,
  unavailable: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the user can act on. The message says what happened and how to fix it;
 * the entry point prints it without a stack trace and exits with `exitCode`.
 */
export class JinbaoError extends Error {
  readonly exitCode: number;
  readonly details: readonly string[];

  constructor(message: string, opts: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'JinbaoError';
    this.exitCode = opts.exitCode ?? ExitCode.invalidInput;
    this.details = opts.details ?? [];
  }
}

/** Bad input from the user: exit code 2. */
export class InputError extends JinbaoError {
  constructor(message: string, opts: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.invalidInput });
    this.name = 'InputError';
  }
}

/** A needed tool, service or package is missing on this machine: exit code 4. */
export class UnavailableError extends JinbaoError {
  constructor(message: string, opts: { details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.unavailable });
    this.name = 'UnavailableError';
  }
}
