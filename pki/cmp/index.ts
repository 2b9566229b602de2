/**
 * CMP (RFC 4210, lightweight profile RFC 9483): the protocol adapter through which staff enroll
 * their own keys with `openssl cmp` or an enrollment station. It translates PKIMessages into calls
 * on the PKI port (`CmpCertificateAuthority`), keeps its own state in lib/sql (component `cmp`:
 * one-time secrets, transactions awaiting certConf), and knows no HTTP server: `jinbao serve`
 * (service/) mounts it at /cmp/<site>.
 */
export { CMP_MIGRATIONS, CmpStore, type SecretRow, type TransactionRow } from './store.js';
export { CMP_PROFILES, CMP_SECRET_DEFAULT_VALIDITY_DAYS, CMP_SECRET_KEYRING, openCmpKeyring, createSecrets, prepareSecrets, secretRequestProblems, secretState, type CreatedSecret, type PreparedSecrets, type SecretRequest, type SecretState } from './secrets.js';
export { CmpServer, type CmpResponse, type CmpServerOptions } from './server.js';
export type { CmpCertificateAuthority, CmpHolder, CmpResponder } from './ports.js';
export { BODY, FAILURE, CmpMalformed, parsePkiMessage, type FailureInfo, type PkiMessage } from './message.js';
export { createCmpSecrets, listCmpSecrets, revokeCmpSecret, type CmpSecretListing } from './operations.js';
