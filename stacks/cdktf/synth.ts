import { App, Testing } from 'cdktf';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { Fabric, SiteAllocation } from '../../fabric/index.js';
import { renderSite, type KubeObject, type RenderOptions } from '../render/index.js';
import type { Backend } from './backend.js';
import { SiteStack } from './site-stack.js';
import { inputError, jinbaoError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';
import { makeDirs } from '../../lib/dirs.js';

/** The cdktf release the stacks are written with (see PLATFORM.md: 0.21.0 is the last). */
export const CDKTF_VERSION = '0.21.0';
/** Bumped when the way objects become Terraform changes, so every site is rewritten once. */
const FORMAT = 1;
const INDEX_FILE = 'jinbao-synth.json';

export interface SynthOptions {
  /** The cdktf output folder (`cdktf.out`). */
  readonly outDir: string;
  /** Only these sites; the others keep whatever the folder holds. @default every site */
  readonly sites?: readonly string[];
  /** @default { kind: 'local' } */
  readonly backend?: Backend;
  readonly render?: RenderOptions;
  /** Sites per cdktf App; a fresh App per batch keeps memory flat. @default 40 */
  readonly batchSize?: number;
  /** Called after each batch. @default nothing */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Threads writing stacks: a second one (a worker thread) halves the wall time of a whole-nation
   * run on a machine with two cores, at the price of its start-up (about half a second).
   * @default 2 when at least 80 stacks change and the machine has two cores, else 1
   */
  readonly threads?: 1 | 2;
}

const PARALLEL_THRESHOLD = 80;

export interface StackWork {
  readonly siteId: string;
  readonly objects: readonly KubeObject[];
}

/** Synthesize stacks in batches, a fresh App per batch (memory stays flat). */
export function writeStacks(outDir: string, work: readonly StackWork[], backend: Backend, batchSize: number, onBatch?: (done: number) => void): void {
  withoutCreationTraces(() => {
    for (let i = 0; i < work.length; i += batchSize) {
      const app = new App({ outdir: outDir, skipValidation: true, stackTraces: false });
      for (const w of work.slice(i, i + batchSize)) new SiteStack(app, w.siteId, { siteId: w.siteId, objects: w.objects, backend });
      app.synth();
      onBatch?.(Math.min(i + batchSize, work.length));
    }
  });
}

/** Run `writeStacks` in a worker thread (through tsx when running from TypeScript sources). */
function synthesizeInWorker(data: { outDir: string; backend: Backend; batchSize: number; stacks: readonly StackWork[] }): Promise<void> {
  const fromSources = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSources ? './synth-worker.ts' : './synth-worker.js', import.meta.url).href;
  const code = fromSources
    ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`
    : `import(${JSON.stringify(entry)})`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: data });
    let failed: Error | undefined;
    worker.on('error', (err) => (failed = err));
    worker.on('exit', (exitCode) =>
      failed || exitCode !== 0
        ? reject(
            failed
              ? jinbaoError(STACKS_MESSAGES, 'synth.threadFailed', { why: failed.message }, { exitCode: 1, cause: failed })
              : jinbaoError(STACKS_MESSAGES, 'synth.threadExit', { code: exitCode }, { exitCode: 1 }),
          )
        : resolve(),
    );
  });
}

export interface SynthResult {
  readonly outDir: string;
  /** Site stacks the folder now holds. */
  readonly stacks: number;
  /** Terraform resources in the selected sites. */
  readonly resources: number;
  readonly rewritten: readonly string[];
  readonly unchanged: readonly string[];
  /** Stacks of sites no longer in the inventory, removed (whole-nation runs only). */
  readonly removed: readonly string[];
}

interface SynthIndex {
  readonly format: number;
  readonly sites: Record<string, { readonly hash: string; readonly resources: number }>;
}

/** Content hash of everything that decides a site's stack. */
export function siteHash(objects: readonly KubeObject[], backend: Backend): string {
  return createHash('sha256').update(JSON.stringify({ format: FORMAT, cdktf: CDKTF_VERSION, backend, objects })).digest('hex');
}

function readIndex(outDir: string): SynthIndex {
  const file = join(outDir, INDEX_FILE);
  if (!existsSync(file)) return { format: FORMAT, sites: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as SynthIndex;
    return parsed.format === FORMAT && typeof parsed.sites === 'object' ? parsed : { format: FORMAT, sites: {} };
  } catch {
    return { format: FORMAT, sites: {} };
  }
}

/** The `manifest.json` cdktf's CLI reads, listing every stack in the folder. */
function manifest(siteIds: readonly string[]): unknown {
  const stacks: Record<string, unknown> = {};
  for (const id of siteIds) {
    stacks[id] = {
      name: id,
      constructPath: id,
      workingDirectory: join('stacks', id),
      synthesizedStackPath: join('stacks', id, 'cdk.tf.json'),
      stackMetadataPath: join('stacks', id, 'metadata.json'),
      annotations: [],
      dependencies: [],
    };
  }
  return { version: CDKTF_VERSION, stacks };
}

/**
 * cdktf records the creation stack trace of every token and of every nested-block reference of
 * every resource (a debugging aid for hand-written cdktf programs), formatting each one, with source
 * maps when they are on. For generated stacks the traces are never read and they cost about a third
 * of the synthesis time, so while `fn` runs (synchronously) they are formatted as nothing. An error
 * thrown meanwhile is rethrown with its message intact.
 */
function withoutCreationTraces<T>(fn: () => T): T {
  const sourceMaps = process.sourceMapsEnabled;
  const prepare = Error.prepareStackTrace;
  process.setSourceMapsEnabled(false);
  Error.prepareStackTrace = () => '';
  try {
    return fn();
  } finally {
    Error.prepareStackTrace = prepare;
    process.setSourceMapsEnabled(sourceMaps);
  }
}

/** One site's stack as Terraform JSON, in memory (what `cdk.tf.json` holds). */
export function stackJson(siteId: string, objects: readonly KubeObject[], backend: Backend = { kind: 'local' }): Record<string, unknown> {
  return withoutCreationTraces(() => {
    const app = new App({ outdir: tmpdir(), skipValidation: true, stackTraces: false });
    return JSON.parse(Testing.synth(new SiteStack(app, siteId, { siteId, objects, backend }))) as Record<string, unknown>;
  });
}

/**
 * Write one Terraform stack per site into `outDir/stacks/<site>/cdk.tf.json`, the layout cdktf users
 * know. Incremental: a site whose content hash matches the last run is not rewritten. Every selected
 * site is rendered and validated before the first file is written.
 */
export async function synthesizeCdktf(fabric: Fabric, allocations: ReadonlyMap<string, SiteAllocation>, options: SynthOptions): Promise<SynthResult> {
  const backend = options.backend ?? { kind: 'local' };
  for (const id of options.sites ?? []) {
    if (!fabric.has(id)) throw inputError(STACKS_MESSAGES, 'synth.unknownSite', { id });
  }
  const selected = options.sites ? [...new Set(options.sites)].map((id) => fabric.site(id)) : [...fabric.sites];
  const rendered = selected.map((site) => {
    const objects = renderSite(fabric, site, allocations, options.render);
    return { site, objects, hash: siteHash(objects, backend) };
  });

  const { outDir } = options;
  try {
    makeDirs(join(outDir, 'stacks'));
  } catch (err) {
    throw inputError(STACKS_MESSAGES, 'synth.outDir', { dir: outDir, why: (err as Error).message }, { cause: err });
  }
  const index = readIndex(outDir);
  const changed = rendered.filter((r) => index.sites[r.site.id]?.hash !== r.hash || !existsSync(join(outDir, 'stacks', r.site.id, 'cdk.tf.json')));
  const batchSize = options.batchSize ?? 40;

  const threads = options.threads ?? (changed.length >= PARALLEL_THRESHOLD ? Math.min(2, availableParallelism()) : 1);
  const work = changed.map((r) => ({ siteId: r.site.id, objects: r.objects }));
  if (threads > 1) {
    // The other thread takes every second batch; this one writes the rest meanwhile.
    const theirs = work.filter((_, i) => Math.floor(i / batchSize) % 2 === 1);
    const mine = work.filter((_, i) => Math.floor(i / batchSize) % 2 === 0);
    const other = synthesizeInWorker({ outDir, backend, batchSize, stacks: theirs });
    other.catch(() => undefined);
    writeStacks(outDir, mine, backend, batchSize, (done) => options.onProgress?.(done, changed.length));
    await other;
  } else {
    writeStacks(outDir, work, backend, batchSize, (done) => options.onProgress?.(done, changed.length));
  }

  for (const r of rendered) index.sites[r.site.id] = { hash: r.hash, resources: r.objects.length };
  const removed: string[] = [];
  if (!options.sites) {
    for (const id of readdirSync(join(outDir, 'stacks'))) {
      if (fabric.has(id)) continue;
      rmSync(join(outDir, 'stacks', id), { recursive: true, force: true });
      delete index.sites[id];
      removed.push(id);
    }
  }
  const present = Object.keys(index.sites)
    .filter((id) => existsSync(join(outDir, 'stacks', id, 'cdk.tf.json')))
    .sort();
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest(present), null, 2) + '\n');
  writeFileSync(join(outDir, INDEX_FILE), JSON.stringify(index, null, 2) + '\n');
  const changedIds = new Set(changed.map((r) => r.site.id));
  return {
    outDir,
    stacks: present.length,
    resources: rendered.reduce((n, r) => n + r.objects.length, 0),
    rewritten: rendered.filter((r) => changedIds.has(r.site.id)).map((r) => r.site.id),
    unchanged: rendered.filter((r) => !changedIds.has(r.site.id)).map((r) => r.site.id),
    removed,
  };
}
