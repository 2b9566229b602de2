/**
 * The WAN lab: a slice of the overlay brought up for real on this machine, one network namespace per
 * node plus a carrier namespace that routes the underlay. `size` picks the nodes, `bring-up` makes
 * them, `check` probes them against the policy, `faults` breaks them, `rotate` changes keys in
 * place, `teardown` removes everything the `journal` recorded, also after a crash.
 */
export { labNodes, LAB_HARD_LIMIT, type LabSize } from './size.js';
export { LAB_DIR, readJournal, requireLab, pickTag, type LabJournal, type LabEnv } from './journal.js';
export { requireRootUser, requireTools, TOOLS } from './prerequisites.js';
export { labUp, labUnderlay, stripWgQuick, LAB_ROAMING_UNDERLAY, type LabUp } from './bring-up.js';
export { labDown, type LabDown, type StoppedProcess } from './teardown.js';
export { labCheck, probeMatrix, probeLinks, routingTable, type CheckResult, type PairResult, type LinkResult } from './check.js';
export { labCut, labKill, timeToReach } from './faults.js';
export { labRotate } from './rotate.js';
export { routingState, parseSessions, establishedSessions, established, parseBfd, countFailovers, type RouterState, type Neighbour, type BfdSession } from './daemon.js';
