import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as jinbao } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';

const tmp = tempDir('jinbao-monitoring-');
afterAll(() => tmp.cleanup());

describe('jinbao monitoring render', () => {
  it('GIVEN --out WHEN rendering THEN the rule files and the dashboard are written with the chosen SLO', async () => {
    const out = join(tmp.dir, 'mon');
    const r = await jinbao(['monitoring', 'render', '--out', out, '--slo', '0.9995', '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as { slo: number; files: string[] };
    expect(listed.slo).toBe(0.9995);
    expect(listed.files.map((f) => f.slice(out.length + 1))).toEqual(['rules/jinbao-recording.rules.yml', 'rules/jinbao-alerting.rules.yml', 'grafana/jinbao-posture.json']);
    expect(readFileSync(join(out, 'rules', 'jinbao-alerting.rules.yml'), 'utf8')).toContain('jinbao:exchange_error_ratio:rate1h > (14.4 * 0.0005)');
  });

  it('refuses an SLO that is not a ratio between 0 and 1', async () => {
    const r = await jinbao(['monitoring', 'render', '--out', join(tmp.dir, 'x'), '--slo', '99.9']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: --slo: got "99.9", want a ratio between 0 and 1 such as 0.999\n');
  });

  it('says which file could not be written and how to fix it', async () => {
    const blocker = join(tmp.dir, 'a-file');
    writeFileSync(blocker, '');
    const r = await jinbao(['monitoring', 'render', '--out', blocker]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^jinbao: cannot write ${blocker}/rules/jinbao-recording\\.rules\\.yml: .*; choose another --out folder\\n$`));
  });
});
