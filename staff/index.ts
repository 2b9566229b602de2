/**
 * Staff certificates driven by HR rosters: roster import and its difference from the previous
 * one, sync of the certificate store with the roster (leavers revoked, changed people re-issued),
 * enrollment of joiners with one-time CMP secrets for enrollment stations or as PKCS#12 bundles,
 * renewal checked against the roster. Rosters live in the state store (component
 * `staff`); certificates go through the PKI's one issuance pipeline and revocation.
 */
export { ROSTER_COLUMNS, SITE_COLUMN, ROSTER_STATUSES, csvRecords, decodeRoster, diffRoster, hashIdentifier, maskIdentifier, parseRoster, rosterTemplate, type ParsedRoster, type RosterChange, type RosterDiff, type RosterEntry, type RosterProblem, type RosterStatus } from './roster.js';
export { STAFF_MIGRATIONS, StaffStore } from './store.js';
export {
  DEFAULT_MASS_REVOCATION_SHARE,
  STAFF_PROFILES,
  applySync,
  checkMassRevocation,
  enrollJoiners,
  enrollJoinersCmp,
  type CmpEnrollRequest,
  type CmpEnrollResult,
  expiringStaffCertificates,
  parseWithin,
  type ExpiringCertificate,
  importRoster,
  openStaff,
  planSync,
  rosterRefusal,
  renewalRefusal,
  type EnrollRequest,
  type EnrollResult,
  type ImportRequest,
  type ImportResult,
  type SyncPlan,
  type SyncRequest,
  type SyncResult,
} from './operations.js';
export { bundleFile, enrollOne, handoutFile, handoutPassword, recoverStaged, staffCsr, STAFF_ENROLL_PROFILE } from './enroll.js';
export { CMP_SECRETS_FILE, CMP_SECRETS_HEADER, cmpSecretsFile, opensslSubject, recoverCmpStaged } from './enroll-cmp.js';
export { ACTIVE_ON_ROSTER, staffLiveFacts } from './facts.js';
export { registerStaffMetrics, STAFF_RENEWAL_DAYS } from './metrics.js';
