import { describe, expect, it } from 'vitest';
import { lineLog } from '../commands/serve.js';

const turn = () => new Promise((r) => setImmediate(r));

describe('the service log', () => {
  it('GIVEN lines logged in one turn of the event loop THEN they go out in one write, in order, one JSON object a line', async () => {
    const writes: string[] = [];
    const { log } = lineLog((t) => writes.push(t));
    log({ n: 1 });
    log({ n: 2, msg: 'two' });
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toEqual(['{"n":1}\n{"n":2,"msg":"two"}\n']);
    log({ n: 3 });
    await turn();
    expect(writes).toHaveLength(2);
    expect(writes[1]).toBe('{"n":3}\n');
    await turn();
    expect(writes).toHaveLength(2);
  });

  it('GIVEN pending lines WHEN flushed THEN they are written at once and not again', async () => {
    const writes: string[] = [];
    const { log, flush } = lineLog((t) => writes.push(t));
    log({ n: 1 });
    flush();
    expect(writes).toEqual(['{"n":1}\n']);
    flush();
    await turn();
    expect(writes).toEqual(['{"n":1}\n']);
  });
});
