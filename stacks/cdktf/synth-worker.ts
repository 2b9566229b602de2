/** Worker-thread side of `synthesizeCdktf` with two threads: writes the stacks it is handed. */
import { workerData } from 'node:worker_threads';
import type { Backend } from './backend.js';
import { writeStacks, type StackWork } from './synth.js';

const data = workerData as { outDir: string; backend: Backend; batchSize: number; stacks: StackWork[] };
writeStacks(data.outDir, data.stacks, data.backend, data.batchSize);
