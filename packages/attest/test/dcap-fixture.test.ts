// DCAP and CRL checks on a real Intel TDX quote and its collateral (dcap-qvl's public sample),
// with the clock pinned inside the collateral's validity window.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { checkCrls, type CrlCheckInput } from '../src/crl.js';
import { intelRootCaDer, readPckChain, verifyQuoteDcap } from '../src/dcap.js';
import { ethereumAddress, generateKeyPair } from '../src/e2ee/index.js';
import { createTestPki, verifyAttestationWithRoot } from '../src/testing/index.js';
import type { AttestationReport, CheckName } from '../src/types.js';
import { verifyAttestation } from '../src/verify.js';
import { FIXTURE_NOW, fixedSource, freshNonce, realFixture, toBase64 } from './helpers.js';

const { quote, collateral } = realFixture();
const root = intelRootCaDer();
const pck = readPckChain(quote);
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const crlInput = (o: Partial<CrlCheckInput> = {}): CrlCheckInput => ({
  rootCaCrl: hexBytes(collateral.root_ca_crl),
  pckCrl: hexBytes(collateral.pck_crl),
  pckCrlIssuerChain: collateral.pck_crl_issuer_chain,
  rootCaDer: root,
  pckLeafDer: pck.leafDer,
  pckIntermediateDer: pck.intermediateDer,
  now: FIXTURE_NOW,
  ...o,
});
const status = (r: AttestationReport, n: CheckName) => r.checks.find((c) => c.name === n)!.status;
const flipped = (b: Uint8Array, at: number) => {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
};
/** A flat response carrying the real quote; its REPORTDATA is not ours, everything else matches. */
const responseAround = (q: Uint8Array, nonce: string, encoding: 'hex' | 'base64' = 'base64') => {
  const key = generateKeyPair();
  return {
    verified: true,
    nonce,
    model: 'e2ee-test',
    intel_quote: encoding === 'hex' ? bytesToHex(q) : toBase64(q),
    signing_key: key.publicKeyHex,
    signing_address: ethereumAddress(key.publicKeyHex),
  };
};

const verifyFixture = (q: Uint8Array, now = FIXTURE_NOW, encoding: 'hex' | 'base64' = 'base64') => {
  const nonce = freshNonce();
  return verifyAttestation(responseAround(q, nonce, encoding), { nonce, model: 'e2ee-test', now, collateral: fixedSource(collateral) });
};

describe('DCAP on the real Intel sample quote', () => {
  it('reads the platform (FMSPC, Platform CA) from the PCK certificate in the quote', () => {
    expect(pck).toMatchObject({ fmspc: 'b0c06f000000', ca: 'platform' });
  });

  it('verifies UpToDate at a time inside the collateral window, against Intel\'s production root', () => {
    expect(verifyQuoteDcap(quote, collateral, FIXTURE_NOW, root)).toEqual({ ok: true, status: 'UpToDate', advisoryIds: [] });
  });

  it('a full verification passes dcap_signature, dcap_crl and tcb_status but fails report_data (the sample binds someone else\'s key and nonce)', async () => {
    const r = await verifyFixture(quote);
    expect(r.ok).toBe(false);
    expect(r.achieved).toBe('none');
    expect(status(r, 'dcap_signature')).toBe('pass');
    expect(status(r, 'dcap_crl')).toBe('pass');
    expect(status(r, 'tcb_status')).toBe('pass');
    expect(status(r, 'report_data')).toBe('fail');
    expect(status(r, 'quote_format')).toBe('pass');
    expect(status(r, 'debug_off')).toBe('pass');
    expect(r).toMatchObject({ tcbStatus: 'UpToDate', fmspc: 'b0c06f000000', ca: 'platform', collateralNextUpdate: '2025-07-19T10:00:35.000Z' });
    expect(r.measurements?.mrTd).toMatch(/^[0-9a-f]{96}$/);
  });

  it('reads the quote in hex and in base64 alike', async () => {
    const hex = await verifyFixture(quote, FIXTURE_NOW, 'hex');
    const b64 = await verifyFixture(quote, FIXTURE_NOW, 'base64');
    expect(hex.tee.quoteEncoding).toBe('hex');
    expect(b64.tee.quoteEncoding).toBe('base64');
    expect(hex.measurements).toEqual(b64.measurements);
    expect(status(hex, 'dcap_signature')).toBe('pass');
  });

  it('throws collateral_expired after the TCB info\'s nextUpdate, saying how to refresh', async () => {
    const later = new Date('2025-07-20T00:00:00Z');
    const e = await verifyFixture(quote, later).catch((x: unknown) => x);
    expect(isZkCreditsError(e, 'collateral_expired')).toBe(true);
    expect(String((e as { details?: string }).details)).toContain('/v1/tee/collateral');
    expect(() => verifyQuoteDcap(quote, collateral, later, root)).toThrow(expect.objectContaining({ code: 'collateral_expired' }));
  });

  it('refuses a flipped byte in the TD report body (mrTd), in the quote signature, in the QE report and in the PCK chain', async () => {
    const qeReportAt = 632 + 4 + 64 + 64 + 2 + 4; // auth size, signature, attestation key, cert type, cert size
    const pemAt = qeReportAt + 384 + 64 + 2 + 32 + 2 + 4 + 200; // into the PEM of the PCK certificate
    for (const at of [48 + 136 + 5, 636 + 7, qeReportAt + 100, pemAt]) {
      const r = await verifyFixture(flipped(quote, at));
      expect(status(r, 'dcap_signature'), `byte ${at}`).toBe('fail');
      expect(r.ok).toBe(false);
    }
    expect(verifyQuoteDcap(flipped(quote, 636 + 7), collateral, FIXTURE_NOW, root)).toMatchObject({ ok: false, reason: 'ISV enclave report signature is invalid' });
  });

  it('fails every DCAP check against another root (the test PKI\'s)', async () => {
    const nonce = freshNonce();
    const testRoot = createTestPki({ seed: 'not intel' }).rootCaDer;
    const r = await verifyAttestationWithRoot(responseAround(quote, nonce), { nonce, model: 'e2ee-test', now: FIXTURE_NOW, collateral: fixedSource(collateral) }, testRoot);
    expect(status(r, 'dcap_signature')).toBe('fail');
    expect(status(r, 'dcap_crl')).toBe('fail');
    expect(status(r, 'tcb_status')).toBe('fail');
  });
});

describe('CRL checks on the real Intel CRLs', () => {
  it('pass: both CRLs signed by their issuers, fresh, the PCK certificate not listed', () => {
    const r = checkCrls(crlInput());
    expect(r.ok).toBe(true);
    expect(r.nextUpdate?.toISOString()).toBe('2025-07-19T10:00:35.000Z');
  });

  it('fail when a CRL\'s signature byte is flipped (root CA CRL and PCK CRL)', () => {
    const root = hexBytes(collateral.root_ca_crl);
    const pckCrl = hexBytes(collateral.pck_crl);
    const r1 = checkCrls(crlInput({ rootCaCrl: flipped(root, root.length - 3) }));
    expect(r1).toMatchObject({ ok: false });
    expect(r1.detail).toContain('root CA CRL: signature does not verify');
    const r2 = checkCrls(crlInput({ pckCrl: flipped(pckCrl, pckCrl.length - 3) }));
    expect(r2.detail).toContain('PCK CRL: signature does not verify');
  });

  it('fail when a byte of a CRL body (a revoked serial) is changed', () => {
    const pckCrl = hexBytes(collateral.pck_crl);
    const r = checkCrls(crlInput({ pckCrl: flipped(pckCrl, 200) }));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/PCK CRL: (signature does not verify|does not parse)/);
  });

  it('fail when a CRL does not parse (never skipped)', () => {
    const r = checkCrls(crlInput({ pckCrl: Uint8Array.of(0x30, 0x03, 0x02, 0x01) }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('PCK CRL: does not parse');
  });

  it('fail at a time past a CRL\'s nextUpdate (stale)', () => {
    const r = checkCrls(crlInput({ now: new Date('2025-07-20T00:00:00Z') }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('PCK CRL: stale');
    expect(checkCrls(crlInput({ now: new Date('2026-05-01T00:00:00Z') })).detail).toContain('root CA CRL: stale');
  });

  it('fail under an unknown root: the root CA CRL and the PCK CRL\'s issuer chain do not chain to it', () => {
    const r = checkCrls(crlInput({ rootCaDer: createTestPki({ seed: 'other root' }).rootCaDer }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('root CA CRL: signature does not verify');
    expect(r.detail).toContain('PCK CRL issuer chain: does not end at the trusted root');
  });

  it('fail when the PCK CRL is swapped for the root CA CRL (issuer is not the PCK CRL\'s signer)', () => {
    const r = checkCrls(crlInput({ pckCrl: hexBytes(collateral.root_ca_crl) }));
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('PCK CRL: issuer "Intel SGX Root CA" is not its signer "Intel SGX PCK Platform CA"');
  });
});
