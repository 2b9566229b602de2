import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RenderedNode, RenderSummary } from './render.js';
import { makeDirs } from '../lib/dirs.js';

/**
 * Write rendered nodes under `dir` (one folder per node) with a plan summary. Files holding private
 * keys get mode 0600, and so does their folder.
 */
export function writeRendered(dir: string, nodes: readonly RenderedNode[], summary: RenderSummary): number {
  makeDirs(dir);
  let files = 0;
  for (const n of nodes) {
    const secret = n.files.some((f) => f.secret);
    const nodeDir = join(dir, n.node.id);
    makeDirs(nodeDir, secret ? 0o700 : 0o755);
    if (secret) chmodSync(nodeDir, 0o700);
    for (const f of n.files) {
      const file = join(nodeDir, f.name);
      writeFileSync(file, f.content, { mode: f.secret ? 0o600 : 0o644 });
      if (f.secret) chmodSync(file, 0o600);
      files += 1;
    }
  }
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ summary, nodes: nodes.map((n) => ({ id: n.node.id, role: n.node.role, address: n.node.address, network: n.node.network, endpoint: n.node.endpoint ?? null, files: n.files.map((f) => f.name) })) }, null, 2) + '\n');
  return files + 1;
}
