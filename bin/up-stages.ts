import type { Fabric } from '../fabric/index.js';
import type { Context } from './context.js';
import { pkiUpStage } from './commands/pki-up.js';
import { drillUpStage } from './commands/drill.js';
import { stacksUpStage } from './commands/stacks.js';
import { postureUpStage } from './commands/report.js';
import { wanUpStage } from './commands/wan.js';

/** One part of `jinbao up`, after the foundation's own (validate, allocate) and before the KPIs. */
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

/** Every feature's stage, in the order `up` runs them. */
export const UP_STAGES: readonly UpStage[] = [pkiUpStage, stacksUpStage, wanUpStage, drillUpStage, postureUpStage];
