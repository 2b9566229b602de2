import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { allHandshaken, birdAsk, uapiSet, uapiSetText } from '../lab/control.js';

const { dir, cleanup } = tempDir('jinbao-wan-control-');
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  cleanup();
});

/** A Unix-socket server that records what it was sent and answers with `reply(request)`; `greeting` goes first, as BIRD's does. */
function fakeDaemon(name: string, reply: (request: string) => string | undefined, greeting?: string): Promise<{ socket: string; received: string[] }> {
  const socket = join(dir, name);
  const received: string[] = [];
  const server = createServer((conn) => {
    let request = '';
    if (greeting) conn.write(greeting);
    conn.on('data', (b: Buffer) => {
      request += b.toString();
      const answer = reply(request);
      if (answer !== undefined) {
        received.push(request);
        conn.write(answer);
      }
    });
  });
  servers.push(server);
  return new Promise((resolve) => server.listen(socket, () => resolve({ socket, received })));
}

const KEY = Buffer.alloc(32, 7).toString('base64');
const PEER = Buffer.alloc(32, 9).toString('base64');

describe('wireguard-go control socket', () => {
  it('GIVEN a stripped wg-quick file WHEN turned into a set operation THEN it carries what wg setconf sends: hex keys, every allowed IP on its own line, peers replaced', () => {
    const text = uapiSetText(`[Interface]\nListenPort = 51830\nPrivateKey = ${KEY}\n[Peer]\nPublicKey = ${PEER}\nEndpoint = 10.1.0.1:51821\nAllowedIPs = 10.64.0.0/10, 224.0.0.5/32\nPersistentKeepalive = 25\n`);
    expect(text).toBe(
      ['set=1', 'replace_peers=true', 'listen_port=51830', `private_key=${'07'.repeat(32)}`, `public_key=${'09'.repeat(32)}`, 'replace_allowed_ips=true', 'endpoint=10.1.0.1:51821', 'allowed_ip=10.64.0.0/10', 'allowed_ip=224.0.0.5/32', 'persistent_keepalive_interval=25'].join('\n') + '\n\n',
    );
  });

  it('GIVEN a key the lab never sends THEN it is refused by name', () => {
    expect(() => uapiSetText('[Interface]\nFwMark = 1\n')).toThrow('wireguard configuration key FwMark is not one the lab sends (FwMark = 1)');
  });

  it('GIVEN wireguard-go answering errno=0 THEN the set succeeds; GIVEN another errno THEN it fails naming the socket and the errno', async () => {
    const ok = await fakeDaemon('ok.sock', (r) => (r.endsWith('\n\n') ? 'errno=0\n\n' : undefined));
    await uapiSet(ok.socket, `[Interface]\nListenPort = 51820\n`);
    expect(ok.received).toEqual(['set=1\nreplace_peers=true\nlisten_port=51820\n\n']);
    const bad = await fakeDaemon('bad.sock', (r) => (r.endsWith('\n\n') ? 'errno=-22\n\n' : undefined));
    await expect(uapiSet(bad.socket, '[Interface]\nListenPort = 51820\n')).rejects.toThrow(`wireguard-go at ${bad.socket} refused its configuration (errno=-22)`);
  });

  it('GIVEN an interface state WHEN every peer has a handshake time THEN it is handshaken, and not while one has none', () => {
    expect(allHandshaken('public_key=aa\nlast_handshake_time_sec=1700000000\npublic_key=bb\nlast_handshake_time_sec=1700000001\nerrno=0\n\n')).toBe(true);
    expect(allHandshaken('public_key=aa\nlast_handshake_time_sec=1700000000\npublic_key=bb\nlast_handshake_time_sec=0\nerrno=0\n\n')).toBe(false);
    expect(allHandshaken('errno=0\n\n')).toBe(false);
  });
});

describe('BIRD control socket', () => {
  it('GIVEN BIRD\'s greeting and a coded reply WHEN asked THEN the answer reads as birdc prints it', async () => {
    const bird = await fakeDaemon('bird.ctl', (r) => (r === 'show protocols\n' ? '2002-Name       Proto      Table      State  Since         Info\n1002-link_jb0001d2 BGP        ---        up     2026-12-05 19:43:09  Established\n0000 \n' : undefined), '0001 BIRD 2.0.12 ready.\n');
    expect(await birdAsk(bird.socket, 'show protocols')).toBe('Name       Proto      Table      State  Since         Info\nlink_jb0001d2 BGP        ---        up     2026-12-05 19:43:09  Established\n\n');
  });

  it('GIVEN an error reply (9xxx) THEN it fails with the daemon\'s words', async () => {
    const bird = await fakeDaemon('bird-err.ctl', (r) => (r.endsWith('\n') ? '9001 syntax error, unexpected CF_SYM_UNDEFINED\n' : undefined), '0001 BIRD 2.0.12 ready.\n');
    await expect(birdAsk(bird.socket, 'show nonsense')).rejects.toThrow(`the routing daemon at ${bird.socket} answered "show nonsense" with: syntax error, unexpected CF_SYM_UNDEFINED`);
  });

  it('GIVEN no daemon on the socket THEN asking fails', async () => {
    await expect(birdAsk(join(dir, 'none.ctl'), 'show status', 1000)).rejects.toThrow(/ENOENT/);
  });
});
