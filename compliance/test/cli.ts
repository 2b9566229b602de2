import { runCli, tempDir as makeTempDir } from '../../bin/testkit.js';

/** Run the jinbao CLI in-process with captured output. */
export const jinbao = runCli;

export function tempDir(prefix = 'jinbao-comply-'): { dir: string; cleanup: () => void } {
  return makeTempDir(prefix);
}
