import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Fabric, SiteAllocation } from '../../fabric/index.js';
import { renderSite, type KubeObject, type RenderOptions } from '../render/index.js';
import { inputError } from '../../lib/i18n/index.js';
import { STACKS_MESSAGES } from '../messages.js';
import { makeDirs } from '../../lib/dirs.js';

/** This folder: the Pulumi project (Pulumi.yaml and main.ts). */
export const PULUMI_PROJECT_DIR = fileURLToPath(new URL('.', import.meta.url));
export const PULUMI_PROJECT = 'jinbao-dc';

export interface PreparedStack {
  readonly site: string;
  /** Pulumi stack name: `pulumi stack select <stack>`. */
  readonly stack: string;
  readonly configFile: string;
  readonly objectsFile: string;
  readonly resources: number;
}

/**
 * Prepare the Pulumi project for each site: render its objects into `rendered/<ID>.json` and write
 * the stack configuration `Pulumi.site-<ID>.yaml` that points the program at them. Into a folder
 * other than the project itself, also write a Pulumi.yaml whose `main` is this project's program.
 * Every site is rendered and validated before anything is written.
 */
export function preparePulumi(
  fabric: Fabric,
  allocations: ReadonlyMap<string, SiteAllocation>,
  options: { readonly dir?: string; readonly sites: readonly string[]; readonly render?: RenderOptions },
): PreparedStack[] {
  if (options.sites.length === 0) throw inputError(STACKS_MESSAGES, 'pulumi.noSites');
  for (const id of options.sites) {
    if (!fabric.has(id)) throw inputError(STACKS_MESSAGES, 'synth.unknownSite', { id });
  }
  const dir = resolve(options.dir ?? PULUMI_PROJECT_DIR);
  const rendered = options.sites.map((id) => ({ id, objects: renderSite(fabric, fabric.site(id), allocations, options.render) }));
  makeDirs(join(dir, 'rendered'));
  if (dir !== resolve(PULUMI_PROJECT_DIR)) {
    const project = readFileSync(join(PULUMI_PROJECT_DIR, 'Pulumi.yaml'), 'utf8').replace(/^main: .*$/m, `main: ${relative(dir, join(PULUMI_PROJECT_DIR, 'main.ts'))}`);
    writeFileSync(join(dir, 'Pulumi.yaml'), project);
  }
  return rendered.map(({ id, objects }) => {
    const stack = `site-${id}`;
    const objectsFile = join(dir, 'rendered', `${id}.json`);
    const configFile = join(dir, `Pulumi.${stack}.yaml`);
    writeFileSync(objectsFile, JSON.stringify(objects, null, 2) + '\n');
    writeFileSync(
      configFile,
      `# Written by jinbao synth --engine pulumi --site ${id}; regenerate instead of editing.\n` +
        stringify({ config: { [`${PULUMI_PROJECT}:site`]: id, [`${PULUMI_PROJECT}:objectsFile`]: relative(dir, objectsFile), 'kubernetes:context': `jinbao-${id}` } }),
    );
    return { site: id, stack, configFile, objectsFile, resources: objects.length };
  });
}

/** Read the objects a prepared stack declares (relative paths are from the working directory). */
export function loadRenderedObjects(file: string): KubeObject[] {
  const path = resolve(file);
  if (!existsSync(path)) throw inputError(STACKS_MESSAGES, 'pulumi.notPrepared', { path });
  return JSON.parse(readFileSync(path, 'utf8')) as KubeObject[];
}
