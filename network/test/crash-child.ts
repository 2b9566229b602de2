/**
 * A lab bring-up that is meant to die: run by crash.test.ts as its own process.
 *   crash-child.ts STATE_DIR self-kill N   SIGKILL itself right after starting its Nth long-lived process, before `start` returns
 *   crash-child.ts STATE_DIR hang N        after its Nth start, stall every further program run (the test SIGKILLs it from outside)
 * Node set: ministry core, DR center, one province with its DR node, one prefecture, one county.
 */
import { loadFabric } from '../../fabric/index.js';
import { buildPlan, generateKeyPair, labNodes, labUp, systemRunner, type Runner } from '../index.js';

const [stateDir, mode, nth] = process.argv.slice(2);
const n = Number(nth);
if (!stateDir || (mode !== 'self-kill' && mode !== 'hang') || !Number.isInteger(n) || n < 1) {
  process.stderr.write('usage: crash-child.ts STATE_DIR self-kill|hang N\n');
  process.exit(2);
}

const fabric = loadFabric();
const plan = buildPlan(fabric, fabric.allocate().allocations);
const ids = labNodes(plan, { provinces: 1, prefectures: 1, counties: 1 });
const keys = new Map(ids.map((id) => [id, { node: id, ...generateKeyPair(), generation: 1 }]));
let starts = 0;
const runner: Runner = {
  start(cmd, args) {
    const pid = systemRunner.start(cmd, args);
    starts += 1;
    if (starts === n) {
      process.stdout.write(`started ${pid}\n`);
      if (mode === 'self-kill') process.kill(process.pid, 'SIGKILL');
    }
    return pid;
  },
  run(cmd, args, opts) {
    if (mode === 'hang' && starts >= n) return new Promise(() => undefined);
    return systemRunner.run(cmd, args, opts);
  },
};
await labUp({ stateDir, runner }, plan, ids, keys);
process.stdout.write('finished\n');
