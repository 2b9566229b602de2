import { describe, expect, it } from 'vitest';
import { countFailovers, parseBfd, parseNeighbours, parseRouteCounts } from '../index.js';

/** Answers of BIRD 2.0.12's `birdc`, as the lab's daemons gave them. */
const NEIGHBOURS = `wan:
Router ID   \tPri\t     State     \tDTime\tInterface  Router IP
10.13.96.1  \t  1\tFull/PtP  \t 3.623\tjb39000d2  169.254.1.5
10.0.1.1    \t  1\tExStart/PtP  \t 3.969\tjb39000r   169.254.1.1
`;
const BFD = `bfd1:
IP address                Interface  State      Since         Interval  Timeout
169.254.9.1               bta0       Up         05:43:25.226    0.100    0.300
169.254.9.3               bta1       Down       05:44:01.002    1.000    0.000
`;
const PROTOCOL = `Name       Proto      Table      State  Since         Info
wan        OSPF       master4    up     2026-12-04 05:48:40  Running
  Channel ipv4
    State:          UP
    Table:          master4
    Preference:     150
    Input filter:   wan_origin
    Output filter:  REJECT
    Routes:         8 imported, 2 filtered, 0 exported, 8 preferred
`;

describe('reading the routing daemon\'s answers', () => {
  it('GIVEN `show ospf neighbors` THEN each neighbour has its router id, lab node, state and interface', () => {
    expect(parseNeighbours(NEIGHBOURS, (a) => (a === '10.13.96.1' ? '130000' : undefined))).toEqual([
      { router: '10.13.96.1', node: '130000', state: 'Full/PtP', iface: 'jb39000d2' },
      { router: '10.0.1.1', state: 'ExStart/PtP', iface: 'jb39000r' },
    ]);
  });

  it('GIVEN `show bfd sessions` THEN each session has its peer, interface and state', () => {
    expect(parseBfd(BFD)).toEqual([
      { peer: '169.254.9.1', iface: 'bta0', state: 'Up' },
      { peer: '169.254.9.3', iface: 'bta1', state: 'Down' },
    ]);
  });

  it('GIVEN `show protocols all wan` THEN the accepted and the rejected (filtered) routes are counted', () => {
    expect(parseRouteCounts(PROTOCOL)).toEqual({ routes: 8, filtered: 2 });
    expect(parseRouteCounts('wan OSPF master4 down')).toEqual({ routes: 0, filtered: 0 });
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
