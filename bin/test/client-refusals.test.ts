import { describe, expect, it } from 'vitest';
import { runCli } from '../testkit.js';

/** Client mode's own refusals, before anything is sent: what and how to fix it, in each language. */
describe('client mode refusals', () => {
  it('GIVEN --identity without --server, or --server that is not https THEN exit 2 with the message, Chinese under --lang zh-CN', async () => {
    const en = await runCli(['--identity', 'op.p12', 'pki', 'list']);
    expect([en.code, en.stderr]).toEqual([2, 'jinbao: --identity: got no --server, want the service to send the command to (e.g. --server https://pki.jinbao.internal:8443)\n']);
    const zh = await runCli(['--lang', 'zh-CN', '--identity', 'op.p12', 'pki', 'list']);
    expect([zh.code, zh.stderr]).toEqual([2, 'jinbao: --identity：没有 --server，应给出接收命令的服务（例如 --server https://pki.jinbao.internal:8443）\n']);
    const http = await runCli(['--lang', 'zh-CN', 'unseal', '--server', 'http://pki.jinbao.internal:8443', '--share', 'nope']);
    expect(http.code).toBe(2);
    expect(http.stderr).not.toMatch(/client\.err\./);
  });
});
