/**
 * RFC 7807 problem documents with RFC 8555 error types. Every refusal of the ACME server is an
 * `AcmeProblem`; the HTTP layer turns it into `application/problem+json` with its status code,
 * and nothing else about the failure (no stack, no internal message) leaves the process.
 */

export const ACME_ERROR_TYPES = [
  'accountDoesNotExist',
  'alreadyRevoked',
  'badCSR',
  'badNonce',
  'badPublicKey',
  'badRevocationReason',
  'badSignatureAlgorithm',
  'caa',
  'compound',
  'connection',
  'dns',
  'externalAccountRequired',
  'incorrectResponse',
  'invalidContact',
  'malformed',
  'orderNotReady',
  'rateLimited',
  'rejectedIdentifier',
  'serverInternal',
  'tls',
  'unauthorized',
  'unsupportedContact',
  'unsupportedIdentifier',
  'userActionRequired',
] as const;
export type AcmeErrorType = (typeof ACME_ERROR_TYPES)[number];

const DEFAULT_STATUS: Partial<Record<AcmeErrorType, number>> = {
  accountDoesNotExist: 400,
  unauthorized: 403,
  orderNotReady: 403,
  rateLimited: 429,
  serverInternal: 500,
};

export interface ProblemDocument {
  readonly type: string;
  readonly detail: string;
  readonly status: number;
  readonly subproblems?: readonly { type: string; detail: string; identifier?: { type: string; value: string } }[];
  readonly algorithms?: readonly string[];
}

export class AcmeProblem extends Error {
  readonly type: AcmeErrorType;
  readonly status: number;
  /** Seconds, for rateLimited. */
  readonly retryAfter: number | undefined;
  readonly subproblems: ProblemDocument['subproblems'];
  readonly algorithms: readonly string[] | undefined;

  constructor(type: AcmeErrorType, detail: string, opts: { status?: number; retryAfter?: number; subproblems?: ProblemDocument['subproblems']; algorithms?: readonly string[] } = {}) {
    super(detail);
    this.name = 'AcmeProblem';
    this.type = type;
    this.status = opts.status ?? DEFAULT_STATUS[type] ?? 400;
    this.retryAfter = opts.retryAfter;
    this.subproblems = opts.subproblems;
    this.algorithms = opts.algorithms;
  }

  document(): ProblemDocument {
    return {
      type: `urn:ietf:params:acme:error:${this.type}`,
      detail: this.message,
      status: this.status,
      ...(this.subproblems ? { subproblems: this.subproblems } : {}),
      ...(this.algorithms ? { algorithms: this.algorithms } : {}),
    };
  }
}
