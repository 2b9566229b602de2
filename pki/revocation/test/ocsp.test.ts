import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as pkijs from 'pkijs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../testkit/index.js';
import { openDatabase, type Database } from '../../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../../lib/test/postgres-server.js';
import { PkiStore } from '../../index.js';
import { stateBackends } from '../../test/helpers.js';
import { readTlv } from '../der.js';
import { MAX_CERT_IDS, OcspResponder, ocspAuthority, parseOcspRequest, serveOcsp, statusOnlyResponse, type ParsedOcspRequest, type RunningResponder } from '../index.js';
import { hasOpenssl, openssl, opensslAsync } from './openssl.js';
import { issue, makeCa, openPki, responderSigner, type TestCa, type TestCert } from './test-pki.js';

let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-ocsp-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

describe.each(stateBackends(() => server))('the OCSP responder, with openssl ocsp as the client, the store on $name', ({ skip, fresh }) => {
  let dir: string;
  let target: string | undefined;
  let cleanup: () => void;
  let state: Database;
  let pki: PkiStore;
  let ca: TestCa;
  let responderCert: TestCert;
  let responder: OcspResponder;
  let running: RunningResponder;

  beforeEach(async () => {
    if (skip) return;
    ({ dir, cleanup } = tempDir('jinbao-ocsp-'));
    target = await fresh();
    ({ state, pki } = await openPki(dir, target));
    ca = await makeCa(dir, 'staff', pki);
    responderCert = await issue(dir, ca, { cn: 'ocsp', ocspSigning: true, store: pki });
    responder = new OcspResponder({ authorities: [ocspAuthority(ca.id, ca.signer.certificateDer, responderSigner(ca, responderCert))], registry: pki });
    running = await serveOcsp(responder, { port: 0 });
  });
  afterEach(async () => {
    if (skip) return;
    await running.close();
    await state.close();
    cleanup();
  });

  const ask = (cert: string, ...extra: string[]) =>
    opensslAsync(['ocsp', '-issuer', ca.pemFile, '-cert', cert, '-url', running.url, '-CAfile', ca.pemFile, '-resp_text', ...extra]);

  it.skipIf(skip || !hasOpenssl)('GIVEN an active certificate THEN the answer is good, the nonce is echoed and the delegated signature verifies', async () => {
    const leaf = await issue(dir, ca, { cn: 'alice', store: pki });
    const r = await ask(leaf.pemFile);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toContain(`${leaf.pemFile}: good`);
    expect(r.out).toMatch(/OCSP Nonce:\s*\n\s*0410/);
    expect(r.out).not.toContain('WARNING: no nonce');
    expect(r.out).toContain('Responder Id: ');
    expect(r.out).toContain('OCSP Signing');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a revoked certificate THEN the answer is revoked with its time and reason', async () => {
    const leaf = await issue(dir, ca, { cn: 'bob', store: pki });
    await pki.markRevoked(leaf.serial, 'keyCompromise', { at: new Date('2026-11-20T08:00:00Z') });
    const r = await ask(leaf.pemFile);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toContain(`${leaf.pemFile}: revoked`);
    expect(r.out).toContain('Reason: keyCompromise');
    expect(r.out).toContain('Revocation Time: Nov 20 08:00:00 2026 GMT');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a certificate of the served CA that the store does not know THEN the answer is unknown', async () => {
    const stray = await issue(dir, ca, { cn: 'stray' });
    const r = await ask(stray.pemFile);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toContain(`${stray.pemFile}: unknown`);
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a certificate of a CA the responder does not serve THEN the answer is unauthorized', async () => {
    const other = await makeCa(dir, 'other', pki);
    const leaf = await issue(dir, other, { cn: 'carol', store: pki });
    const r = await opensslAsync(['ocsp', '-issuer', other.pemFile, '-cert', leaf.pemFile, '-url', running.url, '-CAfile', other.pemFile]);
    expect(r.out).toContain('Responder Error: unauthorized (6)');
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a cached good answer WHEN another connection to the store revokes the certificate THEN the next answer is revoked', async () => {
    const leaf = await issue(dir, ca, { cn: 'dave', store: pki });
    expect((await ask(leaf.pemFile, '-no_nonce')).out).toContain(': good');
    expect((await ask(leaf.pemFile, '-no_nonce')).out).toContain(': good');
    expect(responder.stats.cacheHits).toBe(1);

    const otherState = await openDatabase(target ?? dir);
    try {
      await (await PkiStore.open(otherState, dir)).markRevoked(leaf.serial, 'cessationOfOperation');
    } finally {
      await otherState.close();
    }
    const after = await ask(leaf.pemFile, '-no_nonce');
    expect(after.out).toContain(': revoked');
    expect(after.out).toContain('Reason: cessationOfOperation');
    expect(responder.stats.cacheResets).toBe(1);
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN nonce requests answered from the status cache, gated by the store\'s change mark WHEN the same connection revokes the certificate THEN the next nonce answer is revoked', async () => {
    const leaf = await issue(dir, ca, { cn: 'erin', store: pki });
    const gated = new OcspResponder({
      authorities: [ocspAuthority(ca.id, ca.signer.certificateDer, responderSigner(ca, responderCert))],
      registry: pki,
      ...(state.changeMark ? { changeCounter: () => state.changeMark!() } : {}),
    });
    const served = await serveOcsp(gated, { port: 0 });
    try {
      const askGated = (...extra: string[]) => opensslAsync(['ocsp', '-issuer', ca.pemFile, '-cert', leaf.pemFile, '-url', served.url, '-CAfile', ca.pemFile, '-resp_text', ...extra]);
      for (let i = 0; i < 3; i++) {
        const r = await askGated();
        expect(r.out).toContain('Response verify OK');
        expect(r.out).toContain(': good');
      }
      // Every answer signed afresh (each carries its nonce), the status looked up once.
      expect(gated.stats.cacheHits).toBe(0);
      expect(gated.stats.statusHits).toBe(2);

      // Revoked through the responder's own connection: SQLite's data_version does not move for
      // that, the change mark must.
      await pki.markRevoked(leaf.serial, 'superseded');
      const after = await askGated();
      expect(after.out).toContain('Response verify OK');
      expect(after.out).toContain(': revoked');
      expect(after.out).toContain('Reason: superseded');
      expect((await askGated('-no_nonce')).out).toContain(': revoked');
      expect(gated.stats.cacheResets).toBe(1);
    } finally {
      await served.close();
    }
  });

  it.skipIf(skip || !hasOpenssl)('GIVEN a GET request with the base64 request in the path THEN it is answered like a POST', async () => {
    const leaf = await issue(dir, ca, { cn: 'erin', store: pki });
    const reqFile = join(dir, 'req.der');
    expect(openssl(['ocsp', '-issuer', ca.pemFile, '-cert', leaf.pemFile, '-no_nonce', '-reqout', reqFile]).status).toBe(0);
    const b64 = readFileSync(reqFile).toString('base64');
    const res = await fetch(`${running.url}/${encodeURIComponent(b64)}`);
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    const respFile = join(dir, 'resp.der');
    writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
    const r = openssl(['ocsp', '-respin', respFile, '-issuer', ca.pemFile, '-cert', leaf.pemFile, '-CAfile', ca.pemFile, '-no_nonce']);
    expect(r.out).toContain('Response verify OK');
    expect(r.out).toContain(`${leaf.pemFile}: good`);
  });

  it.skipIf(skip)('GIVEN garbage, a wrong content type or an oversized body THEN the answer is malformedRequest and the responder keeps serving', async () => {
    const malformed = statusOnlyResponse('malformedRequest');
    const post = async (body: Uint8Array, type = 'application/ocsp-request') =>
      Buffer.from(await (await fetch(running.url, { method: 'POST', headers: { 'content-type': type }, body })).arrayBuffer());
    expect(await post(Buffer.from('not der at all'))).toEqual(malformed);
    expect(await post(Buffer.from([0x30, 0x82, 0xff, 0xff, 0x30]))).toEqual(malformed);
    expect(await post(Buffer.from([0x30, 0x03, 0x30, 0x01, 0x30]), 'text/plain')).toEqual(malformed);
    expect(await post(Buffer.alloc(64 * 1024, 0x30))).toEqual(malformed);
    expect(Buffer.from(await (await fetch(`${running.url}/%%%`)).arrayBuffer())).toEqual(malformed);
    expect((await fetch(running.url, { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(responder.stats.malformed).toBe(5);
    expect(malformed.toString('hex')).toBe('30030a0101');
  });

  it.skipIf(skip)('GIVEN arbitrary bytes and mutations of a valid request THEN respond() always answers with a well-formed status and never throws', async () => {
    const leaf = await issue(dir, ca, { cn: 'fuzz', store: pki });
    const reqFile = join(dir, 'fuzz.der');
    openssl(['ocsp', '-issuer', ca.pemFile, '-cert', leaf.pemFile, '-reqout', reqFile]);
    const valid = readFileSync(reqFile);
    const mutated = fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(valid.length)).map(([i, v, cut]) => {
      const b = Buffer.from(valid);
      b[i] = v;
      return b.subarray(0, Math.max(cut, i + 1));
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), async (bytes) => {
        const out = await responder.respond(bytes);
        const outer = readTlv(out, 0);
        expect([outer.tag, outer.end]).toEqual([0x30, out.length]);
        const status = readTlv(out, outer.contentStart);
        expect(status.tag).toBe(0x0a);
        expect([0, 1, 6]).toContain(out[status.contentStart]);
      }),
      { numRuns: 300 },
    );
    expect(responder.stats.internalErrors).toBe(0);
  });

  it.skipIf(skip)('GIVEN requests from openssl and mutations of them THEN the parser accepts exactly what pkijs accepts (reading the same), and refuses exactly what it refuses', async () => {
    const a = await issue(dir, ca, { cn: 'diff-a', store: pki });
    const b = await issue(dir, ca, { cn: 'diff-b', store: pki });
    const corpus = [
      ['-cert', a.pemFile],
      ['-cert', a.pemFile, '-no_nonce'],
      ['-cert', a.pemFile, '-cert', b.pemFile],
      ['-sha256', '-cert', a.pemFile, '-cert', b.pemFile, '-nonce'],
    ].map((extra, i) => {
      const f = join(dir, `diff-${i}.der`);
      openssl(['ocsp', '-issuer', ca.pemFile, ...extra, '-reqout', f]);
      return readFileSync(f);
    });
    for (const req of corpus) expect(ocspVerdict(req)).toMatchObject({ kind: 'accept' });
    expect(disagreement(parseOcspRequest, corpus)).toBeUndefined();
    expect(viewOf(parseOcspRequest(corpus[2]!)).serials).toEqual([a.serial, b.serial]);

    const mutated = fc.tuple(fc.nat(corpus.length - 1), fc.nat(1000), fc.integer({ min: 0, max: 255 })).map(([k, i, v]) => {
      const m = Buffer.from(corpus[k]!);
      m[i % m.length] = v;
      return m;
    });
    const samples = fc.sample(mutated, { numRuns: 1000, seed: 0x0c5b });
    const verdicts = samples.map(ocspVerdict);
    // The sample holds both kinds in number, so agreeing on it means something either way.
    expect(verdicts.filter((v) => v.kind === 'accept').length).toBeGreaterThan(100);
    expect(verdicts.filter((v) => v.kind === 'refuse').length).toBeGreaterThan(100);
    expect(disagreement(parseOcspRequest, samples)).toBeUndefined();
    // The comparison bites: a parser that refuses everything, or accepts everything, is caught.
    expect(disagreement(() => fail('refuses everything'), samples)).toMatch(/^pkijs accepts/);
    expect(disagreement(() => parseOcspRequest(corpus[0]!), samples)).toBeDefined();
  });
});

interface RequestView {
  readonly serials: readonly string[];
  readonly keyHashes: readonly string[];
  readonly nonce: string | undefined;
}

function viewOf(p: ParsedOcspRequest): RequestView {
  return { serials: p.certIds.map((c) => c.serial), keyHashes: p.certIds.map((c) => c.keyHash.toString('hex')), nonce: p.nonce?.toString('hex') };
}

function fail(why: string): never {
  throw new Error(why);
}

/**
 * What pkijs, an independent parser, makes of `bytes`: refuse (it cannot read an OCSPRequest);
 * either (it reads one, but the bytes are not DER: re-encoding them gives other bytes, and a DER
 * parser may refuse them or not); or accept, with what it read. RFC 6960 rules that pkijs does not
 * enforce and the responder does (pki/revocation/ocsp.ts, walkRequest) turn an accept into a refuse:
 * an empty request list, more than MAX_CERT_IDS certificates, an empty serial, hash parameters
 * other than NULL or absent.
 */
function ocspVerdict(bytes: Uint8Array): { kind: 'refuse' | 'either' } | { kind: 'accept'; view: RequestView } {
  let req: pkijs.OCSPRequest;
  try {
    req = pkijs.OCSPRequest.fromBER(bytes);
  } catch {
    return { kind: 'refuse' };
  }
  let again: Buffer;
  try {
    again = Buffer.from(req.toSchema(true).toBER(false));
  } catch {
    return { kind: 'either' };
  }
  if (!again.equals(Buffer.from(bytes))) return { kind: 'either' };
  const list = req.tbsRequest.requestList;
  const params = (r: pkijs.Request) => r.reqCert.hashAlgorithm.algorithmParams as { idBlock?: { tagNumber: number; tagClass: number }; lenBlock?: { length: number } } | undefined;
  const nullOrAbsent = (r: pkijs.Request) => {
    const p = params(r);
    return p === undefined || (p.idBlock?.tagClass === 1 && p.idBlock.tagNumber === 5 && p.lenBlock?.length === 0);
  };
  if (list.length === 0 || list.length > MAX_CERT_IDS || list.some((r) => r.reqCert.serialNumber.valueBlock.valueHexView.length === 0 || !nullOrAbsent(r))) return { kind: 'refuse' };
  const nonce = req.tbsRequest.requestExtensions?.find((e) => e.extnID === '1.3.6.1.5.5.7.48.1.2');
  return {
    kind: 'accept',
    view: {
      serials: list.map((r) => Buffer.from(r.reqCert.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^(00)+/, '')),
      keyHashes: list.map((r) => Buffer.from(r.reqCert.issuerKeyHash.valueBlock.valueHexView).toString('hex')),
      nonce: nonce && Buffer.from(nonce.extnValue.valueBlock.valueHexView).toString('hex'),
    },
  };
}

/** The first input on which `parse` and pkijs disagree, described; undefined when they agree on all. */
function disagreement(parse: (bytes: Uint8Array) => ParsedOcspRequest, inputs: readonly Uint8Array[]): string | undefined {
  for (const bytes of inputs) {
    const verdict = ocspVerdict(bytes);
    let ours: RequestView | undefined;
    try {
      ours = viewOf(parse(bytes));
    } catch {
      ours = undefined;
    }
    const hex = Buffer.from(bytes).toString('hex');
    if (verdict.kind === 'accept' && ours === undefined) return `pkijs accepts what the parser refuses: ${hex}`;
    if (verdict.kind === 'refuse' && ours !== undefined) return `pkijs refuses what the parser accepts: ${hex}`;
    if (verdict.kind === 'accept' && JSON.stringify(ours) !== JSON.stringify(verdict.view)) return `they read different things: ${JSON.stringify(ours)} vs ${JSON.stringify(verdict.view)} from ${hex}`;
  }
  return undefined;
}
