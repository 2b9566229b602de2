import { runCli } from '../../bin/testkit.js';
import { tempDir as makeTempDir } from '../../testkit/index.js';

/** Run the jinbao CLI in-process with captured output. */
export const jinbao = runCli;

export function tempDir(prefix = 'jinbao-comply-'): { dir: string; cleanup: () => void } {
  return makeTempDir(prefix);
}
