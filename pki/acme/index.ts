/**
 * ACME (RFC 8555): the protocol adapter through which servers and clusters obtain server-tls
 * certificates. It translates JWS requests into calls on the PKI port (`AcmeCertificateAuthority`),
 * keeps its own state in lib/sql (component `acme`), and knows no HTTP server: `jinbao serve`
 * (service/) mounts it.
 */
export { ACME_ERROR_TYPES, AcmeProblem, type AcmeErrorType, type ProblemDocument } from './problems.js';
export { JWS_ALGORITHMS, jwkThumbprint, parseJws, publicKeyFromJwk, verifyJws, type Jwk, type JwsAlgorithm } from './jws.js';
export { ACME_MIGRATIONS, AcmeStore, NONCE_TTL_MS } from './store.js';
export { createEabKey, usableEabKey, EAB_DEFAULT_VALIDITY_DAYS, type EabKey } from './eab.js';
export { allowedIdentifiers, applicationOfNames, enforceSitePolicy, FABRIC_DNS_SUFFIX, siteMayRequest, siteZones } from './policy.js';
export { ACME_IDENTIFIER_OID, checkAlpnCertificate, NetworkValidator, readHostsFile, type ChallengeCheck, type ChallengeValidator, type NetworkValidatorOptions } from './validation.js';
export { AcmeServer, renewalCertId, type AcmeLimits, type AcmeRequest, type AcmeResponse, type AcmeServerOptions } from './server.js';
export type { AcmeCertificateAuthority } from './ports.js';
export { defaultBurst, LocalRateBuckets, RateLimiter, type RateBuckets, type RateLimit, type RateTake } from './rate-limit.js';
export { createEab, listEab, siteEabKeyIds } from './operations.js';
