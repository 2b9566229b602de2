import { JinbaoError, type CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, type MessageParams } from '../lib/i18n/index.js';
import { DR_MESSAGES } from './messages.js';
import type { DrillEvent, DrillResult, MarkName, StepPhase } from './model.js';

/** Wall-clock milliseconds with sub-millisecond resolution that never goes backwards within a run. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

type EventInput = DrillEvent extends infer E ? (E extends DrillEvent ? Omit<E, 'at'> : never) : never;

/**
 * What the screen may say of an event beyond its recorded fields: a failure's reason as a catalogue
 * message, to say it in the reader's language. Only listeners see it; the event (and so the report,
 * its digest and its signature) keeps the English `detail` alone.
 */
export interface EventSaying {
  readonly reasonMessage?: CatalogueMessage;
}

export type EventListener = (e: DrillEvent, said?: EventSaying) => void;

/**
 * A step's failure whose reason is a dr-runbooks catalogue entry: `message` is its English text
 * (what events, reports and history record, unchanged), `reasonMessage` says it in another language.
 */
export class StepFailure extends Error {
  readonly reasonMessage: CatalogueMessage;

  constructor(key: string, params: MessageParams = {}, opts: { cause?: unknown } = {}) {
    const m = catalogueMessage(DR_MESSAGES, key, params);
    super(m.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StepFailure';
    this.reasonMessage = m.localized;
  }
}

/** An error's reason as a catalogue message, when it has one (a StepFailure, an abort made with DrillAbortedError.of, or a JinbaoError from a catalogue). */
export function reasonMessageOf(error: unknown): CatalogueMessage | undefined {
  if (error instanceof StepFailure || error instanceof DrillAbortedError) return error.reasonMessage;
  if (error instanceof JinbaoError) return error.localized;
  return undefined;
}

/** An error's reason to nest in a message: its catalogue message when it has one, else its text. */
export function reasonParam(error: unknown): string | CatalogueMessage {
  return reasonMessageOf(error) ?? message(error);
}

function saying(error: unknown): EventSaying | undefined {
  const reasonMessage = reasonMessageOf(error);
  return reasonMessage ? { reasonMessage } : undefined;
}

/** Collects a run's events with timestamps; listeners see each event as it happens (progress, persistence). */
export class EventLog {
  readonly events: DrillEvent[] = [];
  private readonly listeners: EventListener[] = [];
  readonly now: () => number;

  constructor(now: () => number = preciseNow) {
    this.now = now;
  }

  emit(event: EventInput, said?: EventSaying): DrillEvent {
    const e = { ...event, at: this.now() } as DrillEvent;
    this.events.push(e);
    for (const l of this.listeners) l(e, said);
    return e;
  }

  mark(name: MarkName, detail?: string, at?: number): void {
    const e = { type: 'mark', name, at: at ?? this.now(), ...(detail === undefined ? {} : { detail }) } as DrillEvent;
    this.events.push(e);
    for (const l of this.listeners) l(e);
  }

  measure(name: string, value: number | string | boolean): void {
    this.emit({ type: 'measure', name, value });
  }

  note(text: string): void {
    this.emit({ type: 'note', text });
  }

  markAt(name: MarkName): number | undefined {
    return this.events.find((e): e is Extract<DrillEvent, { type: 'mark' }> => e.type === 'mark' && e.name === name)?.at;
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }
}

/**
 * One step of a drill, as data. The precondition checks the world is as the step expects, the
 * action changes it, the verification proves the change happened, and the rollback undoes or
 * settles it when a later step fails or the drill is aborted.
 */
export interface Step<C> {
  readonly name: string;
  readonly description: string;
  readonly precondition?: (ctx: C) => Promise<string | void>;
  readonly action: (ctx: C) => Promise<string | void>;
  readonly verification?: (ctx: C) => Promise<string | void>;
  readonly rollback?: (ctx: C) => Promise<string | void>;
  /** Shown in plans: what the rollback does. */
  readonly rollbackDescription?: string;
}

/** Thrown (or used as the abort reason) when a drill is stopped on request. */
export class DrillAbortedError extends Error {
  /** The reason as a catalogue message, when it has one (`message` stays the English text). */
  readonly reasonMessage?: CatalogueMessage;

  constructor(reason: string, reasonMessage?: CatalogueMessage) {
    super(reason);
    this.name = 'DrillAbortedError';
    if (reasonMessage) this.reasonMessage = reasonMessage;
  }

  /** An abort whose reason is a dr-runbooks catalogue entry (`step.<key>`). */
  static of(key: string, params: MessageParams = {}): DrillAbortedError {
    const m = catalogueMessage(DR_MESSAGES, `step.${key}`, params);
    return new DrillAbortedError(m.message, m.localized);
  }
}

export interface StepsOutcome {
  readonly result: DrillResult;
  readonly failedStep?: string;
  readonly reason?: string;
  readonly error?: unknown;
}

/**
 * Run steps in order. On a failed phase or an abort, the rollbacks of the failed step (when its
 * action started) and of every completed step run in reverse order; rollback failures are recorded
 * and do not stop the other rollbacks.
 */
export async function runSteps<C>(steps: readonly Step<C>[], ctx: C, log: EventLog, signal: AbortSignal): Promise<StepsOutcome> {
  const started: Step<C>[] = [];
  let failure: { step: string; error: unknown } | undefined;
  for (const step of steps) {
    if (signal.aborted) {
      failure = { step: step.name, error: abortReason(signal) };
      break;
    }
    log.emit({ type: 'step-started', step: step.name });
    let phase: StepPhase = 'precondition';
    try {
      if (step.precondition) await phaseRun(log, step.name, 'precondition', () => step.precondition!(ctx));
      phase = 'action';
      started.push(step);
      await phaseRun(log, step.name, 'action', () => step.action(ctx));
      phase = 'verification';
      if (step.verification) await phaseRun(log, step.name, 'verification', () => step.verification!(ctx));
      log.emit({ type: 'step-finished', step: step.name, ok: true });
    } catch (error) {
      const err = signal.aborted ? abortReason(signal) : error;
      log.emit({ type: 'step-finished', step: step.name, ok: false, detail: failedDetail(phase, message(err)) }, saying(err));
      failure = { step: step.name, error: err };
      break;
    }
  }
  if (!failure) return { result: 'passed' };

  for (const step of [...started].reverse()) {
    if (!step.rollback) continue;
    try {
      const detail = await step.rollback(ctx);
      log.emit({ type: 'rollback', step: step.name, ok: true, ...(detail ? { detail } : {}) });
    } catch (error) {
      log.emit({ type: 'rollback', step: step.name, ok: false, detail: message(error) }, saying(error));
    }
  }
  const aborted = failure.error instanceof DrillAbortedError;
  return { result: aborted ? 'aborted' : 'failed', failedStep: failure.step, reason: message(failure.error), error: failure.error };
}

/** A failed step's detail, as the report records it: `<phase> failed: <why>`. */
function failedDetail(phase: StepPhase, why: string): string {
  return `${phase} failed: ${why}`;
}

/** The phase and the reason of a failed step's detail (as `failedDetail` writes it), to say them in another language. */
export function parseFailedDetail(detail: string): { phase: StepPhase; reason: string } | undefined {
  for (const phase of ['precondition', 'action', 'verification'] as const) {
    const prefix = failedDetail(phase, '');
    if (detail.startsWith(prefix)) return { phase, reason: detail.slice(prefix.length) };
  }
  return undefined;
}

async function phaseRun(log: EventLog, step: string, phase: StepPhase, fn: () => Promise<string | void>): Promise<void> {
  try {
    const detail = await fn();
    log.emit({ type: 'step-phase', step, phase, ok: true, ...(detail ? { detail } : {}) });
  } catch (error) {
    log.emit({ type: 'step-phase', step, phase, ok: false, detail: message(error) }, saying(error));
    throw error;
  }
}

function abortReason(signal: AbortSignal): DrillAbortedError {
  const r: unknown = signal.reason;
  return r instanceof DrillAbortedError ? r : new DrillAbortedError(r instanceof Error ? r.message : 'aborted');
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Sleep that ends early (rejecting) when the drill is aborted. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Poll `check` every `intervalMs` until it returns a value, or fail after `timeoutMs` with `what`
 * (a catalogue message, so the timeout is said in the reader's language; plain text stays as given).
 */
export async function waitFor<T>(what: string | CatalogueMessage, check: () => Promise<T | undefined>, opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal }): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    if (performance.now() >= deadline) {
      throw last ? new StepFailure('step.timedOutLast', { ms: opts.timeoutMs, what, last: reasonParam(last) }) : new StepFailure('step.timedOut', { ms: opts.timeoutMs, what });
    }
    await pause(opts.intervalMs ?? 50, opts.signal);
  }
}
