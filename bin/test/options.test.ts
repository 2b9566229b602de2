import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

const tmp = tempDir('jinbao-options-');
afterAll(() => tmp.cleanup());

/** Every numeric, duration or date option of every command, given what a loose parser (Number()) would take. */
const CASES: readonly { args: readonly string[]; message: string }[] = [
  { args: ['drill', 'plan', '--site', '440000', '--probe-rate', '0x10'], message: '--probe-rate: got "0x10", want a whole number from 1 to 2000' },
  { args: ['drill', 'plan', '--site', '440000', '--probe-rate', '1e3'], message: '--probe-rate: got "1e3", want a whole number from 1 to 2000' },
  { args: ['drill', 'plan', '--site', '440000', '--detection-ms', '+5'], message: '--detection-ms: got "+5", want a whole number from 1 to 60000' },
  { args: ['drill', 'run', '--site', '440000', '--probe-rate', ' 5'], message: '--probe-rate: got " 5", want a whole number from 1 to 2000' },
  { args: ['drill', 'lab', 'up', '--site', '440000', '--replication', 'semi'], message: '--replication: got "semi", want one of sync, async' },
  { args: ['exporter', '--port', '0x50'], message: '--port: got "0x50", want a TCP port from 0 to 65535' },
  { args: ['exporter', '--port', ''], message: '--port: got "", want a TCP port from 0 to 65535' },
  { args: ['pki', 'ocsp', 'serve', '--port', '8e3', '--ca', 'root', '--responder-cert', 'x', '--responder-key', 'y'], message: '--port: got "8e3", want a TCP port from 0 to 65535' },
  { args: ['pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=x', '--days', '1e2'], message: '--days: got "1e2", want a whole number of days of at least 1' },
  { args: ['pki', 'list', '--expiring', '0x1e'], message: '--expiring: got "0x1e", want a number of days such as 30d' },
  { args: ['pki', 'list', '--status', 'expired'], message: '--status: got "expired", want one of active, revoked' },
  { args: ['pki', 'crl', '--ca', 'root', '--next-update', '1.5d'], message: '--next-update: got "1.5d", want a positive duration such as 90s, 30m, 12h or 7d' },
  { args: ['wan', 'up', '--lab', '--provinces', '0x2'], message: '--provinces: got "0x2", want a whole number of at least 1' },
  { args: ['wan', 'up', '--lab', '--prefectures', '2.0'], message: '--prefectures: got "2.0", want a whole number of at least 1' },
  { args: ['monitoring', 'render', '--out', 'x', '--slo', '9.99e-1'], message: '--slo: got "9.99e-1", want a ratio between 0 and 1 such as 0.999' },
  { args: ['audit', 'export', '--since', '1'], message: '--since: got "1", want an ISO date such as 2026-10-01' },
  { args: ['audit', 'export', '--format', 'xml'], message: '--format: got "xml", want one of jsonl, csv, json' },
  { args: ['inventory', 'export', '--format', 'xml'], message: '--format: got "xml", want one of yaml, json' },
  { args: ['drill', 'report', 'dr-x', '--format', 'html'], message: '--format: got "html", want one of md, json' },
];

describe('option values are parsed strictly, with one message style', () => {
  let n = 0;
  it.each(CASES)('GIVEN jinbao $args THEN exit 2: $message', async ({ args, message }) => {
    const r = await runCli(['--state', join(tmp.dir, `s${++n}`), ...args]);
    expect(r.stderr).toBe(`jinbao: ${message}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
