/** The DER writer and reader are shared with certificate issuance; see ../der.ts. */
export * from '../der.js';
