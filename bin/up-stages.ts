import type { Fabric } from '../fabric/index.js';
import type { Context } from './context.js';

/** One part of `jinbao up`. Features add theirs to UP_STAGES in the order they should run. */
export interface UpStage {
  readonly name: string;
  run(ctx: Context, env: UpEnv): Promise<UpStageResult>;
}

export interface UpEnv {
  readonly fabric: Fabric;
  /** Root of everything `up` writes (`--out`, default jinbao.out/). */
  readonly outDir: string;
  /** Progress lines for long stages (quiet when not a TTY). */
  readonly note: (line: string) => void;
}

export interface UpStageResult {
  /** Short human lines for the summary. */
  readonly lines: readonly string[];
  /** Machine form for `up --json`. */
  readonly data: unknown;
}
