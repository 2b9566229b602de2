import { describe, expect, it } from 'vitest';
import { asnOf, countFailovers, establishedSessions, parseBfd, parseSessions } from '../index.js';

/** Answers of BIRD 2.0.12's `birdc`, as the lab's daemons gave them. */
const PROTOCOLS = `Name       Proto      Table      State  Since         Info
device1    Device     ---        up     2026-12-05 19:37:53

own        Static     master4    up     2026-12-05 19:37:53
  Channel ipv4
    State:          UP
    Table:          master4
    Preference:     200
    Input filter:   ACCEPT
    Output filter:  REJECT
    Routes:         1 imported, 0 exported, 1 preferred

kernel1    Kernel     master4    up     2026-12-05 19:37:53
  Channel ipv4
    State:          UP
    Table:          master4
    Preference:     10
    Input filter:   REJECT
    Output filter:  (unnamed)
    Routes:         0 imported, 3 exported, 0 preferred

link_jb39000d2 BGP        ---        up     2026-12-05 19:43:09  Established
  Description:    primary line to 130000
  BGP state:          Established
    Neighbor address: 169.254.1.5%jb39000d2
    Neighbor AS:      4200811009
    Local AS:         4200000001
    Neighbor ID:      10.13.96.1
    Session:          external AS4
    Source address:   169.254.1.4
    Hold timer:       2.694/3
    Keepalive timer:  0.860/1
  Channel ipv4
    State:          UP
    Table:          master4
    Preference:     100
    Input filter:   wan_origin
    Output filter:  (unnamed)
    Routes:         2 imported, 1 filtered, 1 exported, 2 preferred
    Route change stats:     received   rejected   filtered    ignored   accepted
      Import updates:              6          0          1          2          3
    BGP Next hop:   169.254.1.4

link_jb39000r BGP        ---        start  2026-12-05 19:45:51  Active        Error: BFD session down
  Description:    secondary line to dr-000000
  BGP state:          Active
    Neighbor address: 169.254.1.1%jb39000r
    Neighbor AS:      4200000257
    Local AS:         4200000001
    Connect delay:    0.586/1
    Last error:       Error: BFD session down
  Channel ipv4
    State:          DOWN
    Table:          master4
    Preference:     100
    Input filter:   wan_origin
    Output filter:  (unnamed)
`;
const BFD = `bfd1:
IP address                Interface  State      Since         Interval  Timeout
169.254.9.1               bta0       Up         05:43:25.226    0.100    0.300
169.254.9.3               bta1       Down       05:44:01.002    1.000    0.000
`;
describe('reading the routing daemon\'s answers', () => {
  it('GIVEN `show protocols all` THEN each BGP session has its neighbour\'s AS, lab node, state and interface, and only BGP sessions\' routes are counted, accepted and rejected', () => {
    expect(parseSessions(PROTOCOLS, (asn) => (asn === 4200811009 ? '130000' : undefined))).toEqual({
      neighbours: [
        { asn: 4200811009, node: '130000', state: 'Established', iface: 'jb39000d2' },
        { asn: 4200000257, state: 'Active', iface: 'jb39000r' },
      ],
      routes: 2,
      filtered: 1,
    });
    expect(parseSessions('Name Proto Table State Since Info\nown Static master4 up 2026-12-05 19:37:53\n', () => undefined)).toEqual({ neighbours: [], routes: 0, filtered: 0 });
  });

  it('GIVEN `show protocols` THEN the Established BGP sessions are counted, nothing else', () => {
    const summary = PROTOCOLS.split('\n').filter((l) => /^\S/.test(l)).join('\n');
    expect(establishedSessions(summary)).toBe(1);
    expect(establishedSessions(summary.replace('Active ', 'Established '))).toBe(2);
    expect(establishedSessions('kernel1 Kernel master4 up 2026-12-05 Established\n')).toBe(0);
  });

  it('GIVEN a router address THEN its AS number is private (RFC 6996 4-byte range) and carries the last 24 bits of the address', () => {
    expect(asnOf('10.0.0.1')).toBe(4200000001);
    expect(asnOf('10.12.96.1')).toBe(4200000000 + (12 << 16) + (96 << 8) + 1);
    expect(asnOf('10.255.255.255')).toBeLessThanOrEqual(4294967294);
  });

  it('GIVEN `show bfd sessions` THEN each session has its peer, interface and state', () => {
    expect(parseBfd(BFD)).toEqual([
      { peer: '169.254.9.1', iface: 'bta0', state: 'Up' },
      { peer: '169.254.9.3', iface: 'bta1', state: 'Down' },
    ]);
  });

  it('GIVEN a daemon log THEN each BFD session that went from Up to Down counts as one failover, nothing else does', () => {
    const log = [
      '2026-12-04 06:10:01.100 <TRACE> bfd1: Session to 169.254.1.5 added',
      '2026-12-04 06:10:02.200 <TRACE> bfd1: Session to 169.254.1.5 changed state from Down to Up',
      '2026-12-04 06:11:00.300 <TRACE> bfd1: Session to 169.254.1.5 changed state from Up to Down',
      '2026-12-04 06:11:09.400 <TRACE> bfd1: Session to 169.254.1.5 changed state from Init to Up',
      '2026-12-04 06:12:00.500 <TRACE> bfd1: Session to 169.254.1.9 changed state from Up to Down',
    ].join('\n');
    expect(countFailovers(log)).toBe(2);
  });
});
