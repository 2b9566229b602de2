import type { Context } from './context.js';

/** A command's action: parse what commander gave it, call the operations, print. */
export type CommandAction<O> = (ctx: Context, opts: O, args: string[]) => Promise<number | void>;

/** Wraps a command's action: builds its Context, runs it, closes what it opened. */
export type Runner = <O>(action: CommandAction<O>) => (...args: unknown[]) => Promise<void>;
