// The verifier end to end on quotes and collateral of the test PKI (`@zkcredits/attest/testing`):
// a good attestation passes every level, and each check fails on its own fault.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { assertAttested, MemoryPinStore, repinMeasurements, verifyAttestation } from '../src/index.js';
import { ethereumAddress, generateKeyPair } from '../src/e2ee/index.js';
import { buildTestCollateral, createTestPki, verifyAttestationWithRoot, type TestCollateralOptions } from '../src/testing/index.js';
import type { AttestationReport, CheckName, VerifyOptions } from '../src/types.js';
import { freshNonce, testCollateral, testResponse, type ResponseOptions } from './helpers.js';

const NOW = new Date('2026-09-01T12:00:00Z');
const MODEL = 'e2ee-test-model';
const pki = createTestPki({ seed: 'verify.test' });

const status = (r: AttestationReport, n: CheckName) => r.checks.find((c) => c.name === n)!;
const failed = (r: AttestationReport) => r.checks.filter((c) => c.status === 'fail').map((c) => c.name);

async function run(
  o: Partial<ResponseOptions> = {},
  v: Partial<VerifyOptions> = {},
  c: Partial<TestCollateralOptions> = {},
  root = pki.rootCaDer,
) {
  const nonce = o.nonce ?? freshNonce();
  const { response, key } = testResponse(pki, { nonce, model: MODEL, ...o });
  const report = await verifyAttestationWithRoot(
    response,
    { nonce, model: MODEL, now: NOW, collateral: testCollateral(pki, { now: NOW, ...c }), ...v },
    root,
  );
  return { report, key, response, nonce };
}

describe('a good attestation', () => {
  it('passes every check at level dcap, achieves dcap, and yields the enclave key', async () => {
    const { report, key } = await run();
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      level: 'dcap',
      achieved: 'dcap',
      modelPublicKeyHex: key.publicKeyHex,
      signingAddress: ethereumAddress(key.publicKeyHex),
      reportDataNonce: 'raw',
      debug: false,
      tcbStatus: 'UpToDate',
      advisoryIds: [],
      ca: 'platform',
      shape: 'flat',
      tee: { provider: 'test', quoteEncoding: 'base64' },
    });
    expect(report.fmspc).toMatch(/^[0-9a-f]{12}$/);
    expect(status(report, 'measurement').status).toBe('skipped');
    expect(status(report, 'gpu')).toMatchObject({ status: 'skipped', detail: expect.stringContaining('not verified') });
    expect(assertAttested(report)).toBe(key.publicKeyHex);
  });

  it('names every check once, in the contract\'s order', async () => {
    const { report } = await run();
    expect(report.checks.map((c) => c.name)).toEqual([
      'nonce_echo', 'model_echo', 'server_verdict', 'signing_key', 'quote_format', 'debug_off', 'report_data',
      'dcap_signature', 'dcap_crl', 'tcb_status', 'measurement', 'gpu',
    ]);
  });

  it('accepts the nonce as SHA-256 in REPORTDATA and records it', async () => {
    const { report } = await run({ nonceMode: 'sha256' });
    expect(report).toMatchObject({ ok: true, reportDataNonce: 'sha256' });
  });

  it('reads the aci/1 envelope with a hex quote and signing_public_key', async () => {
    const { report, key } = await run({ shape: 'aci/1', encoding: 'hex' });
    expect(report).toMatchObject({ ok: true, shape: 'aci/1', tee: { quoteEncoding: 'hex' }, modelPublicKeyHex: key.publicKeyHex });
  });

  it('accepts a processor-CA platform and reports its CA', async () => {
    const proc = createTestPki({ seed: 'verify.test/processor', pckCa: 'processor' });
    const nonce = freshNonce();
    const { response } = testResponse(proc, { nonce, model: MODEL });
    const r = await verifyAttestationWithRoot(response, { nonce, model: MODEL, now: NOW, collateral: testCollateral(proc, { now: NOW }) }, proc.rootCaDer);
    expect(r).toMatchObject({ ok: true, ca: 'processor' });
  });

  it('at level binding needs no collateral and skips the DCAP checks', async () => {
    const { report } = await run({}, { level: 'binding', collateral: undefined });
    expect(report).toMatchObject({ ok: true, level: 'binding', achieved: 'binding' });
    for (const n of ['dcap_signature', 'dcap_crl', 'tcb_status'] as const) expect(status(report, n).status).toBe('skipped');
  });
});

describe('each check fails on its own fault', () => {
  it('nonce_echo: a response for another nonce (replay)', async () => {
    const nonce = freshNonce();
    const { response } = testResponse(pki, { nonce, model: MODEL });
    const other = freshNonce();
    const r = await verifyAttestationWithRoot(response, { nonce: other, model: MODEL, now: NOW, collateral: testCollateral(pki, { now: NOW }) }, pki.rootCaDer);
    expect(failed(r)).toEqual(['nonce_echo', 'report_data']);
    expect(r.ok).toBe(false);
    expect(() => assertAttested(r)).toThrow(expect.objectContaining({ code: 'attestation_failed', details: expect.stringContaining('nonce_echo') }));
  });

  it('model_echo: an attestation for another model', async () => {
    const { report } = await run({ override: { model: 'e2ee-other' } });
    expect(failed(report)).toEqual(['model_echo']);
  });

  it('server_verdict: verified false, or any negative server_verification field', async () => {
    expect(failed((await run({ override: { verified: false } })).report)).toEqual(['server_verdict']);
    const negatives = [
      { tdx: { valid: false } },
      { tdx: { valid: true, signatureValid: false } },
      { tdx: { valid: true, certificateChainValid: false } },
      { tdx: { valid: true, attestationKeyMatch: false } },
      { tdx: { valid: true, error: 'quote expired' } },
      { signingAddressBinding: { bound: false } },
      { nonceBinding: { bound: false, method: 'raw' } },
      { nvidia: { valid: false, error: 'NRAS unreachable' } },
    ];
    for (const sv of negatives) {
      const { report } = await run({ override: { server_verification: sv } });
      expect(failed(report), JSON.stringify(sv)).toEqual(['server_verdict']);
    }
  });

  it('signing_key: a key whose address is not signing_address, a malformed key, or no key', async () => {
    const other = ethereumAddress(generateKeyPair().publicKeyHex);
    expect(failed((await run({ override: { signing_address: other } })).report)).toEqual(['signing_key']);
    expect(failed((await run({ override: { signing_key: '04' + 'ab'.repeat(64) } })).report)).toEqual(['signing_key', 'report_data']);
    const none = await run({ override: { signing_key: undefined } });
    expect(failed(none.report)).toEqual(['signing_key', 'report_data']);
    expect(none.report.modelPublicKeyHex).toBeUndefined();
    expect(() => assertAttested(none.report)).toThrow(expect.objectContaining({ code: 'attestation_failed' }));
  });

  it('report_data: a key swapped for another (REPORTDATA binds the original address)', async () => {
    const swapped = generateKeyPair();
    const { report } = await run({
      override: { signing_key: swapped.publicKeyHex, signing_address: ethereumAddress(swapped.publicKeyHex) },
    });
    expect(failed(report)).toEqual(['report_data']);
    expect(status(report, 'report_data').detail).toContain('not the signing key\'s address');
  });

  it('report_data: non-zero padding, or a nonce that is neither raw nor SHA-256', async () => {
    const key = generateKeyPair();
    const nonce = freshNonce();
    const base = new Uint8Array(64);
    base.set(Buffer.from(ethereumAddress(key.publicKeyHex).slice(2), 'hex'), 0);
    base.set(Buffer.from(nonce, 'hex'), 32);
    const padded = base.slice();
    padded[25] = 1;
    expect(failed((await run({ nonce, key, reportData: padded })).report)).toEqual(['report_data']);
    const wrongNonce = base.slice();
    wrongNonce[63]! ^= 1;
    const r = await run({ nonce, key, reportData: wrongNonce });
    expect(failed(r.report)).toEqual(['report_data']);
    expect(status(r.report, 'report_data').detail).toContain('neither the nonce nor its SHA-256');
  });

  it('debug_off: a TD with the DEBUG attribute (DCAP refuses it too)', async () => {
    const { report } = await run({ quote: { debug: true } });
    expect(failed(report)).toEqual(['debug_off', 'dcap_signature', 'tcb_status']);
    expect(report.debug).toBe(true);
    expect(status(report, 'dcap_signature').detail).toBe('Debug mode is enabled');
  });

  it('quote_format: a truncated quote, not TDX, or not a quote at all', async () => {
    const { quote } = testResponse(pki, { nonce: freshNonce(), model: MODEL });
    const sgx = quote.slice();
    sgx[4] = 0;
    for (const bytes of [quote.subarray(0, 600), sgx]) {
      const { report } = await run({ quoteBytes: bytes });
      expect(failed(report)).toEqual(['quote_format', 'debug_off', 'report_data', 'dcap_signature', 'dcap_crl', 'tcb_status']);
    }
    const garbage = await run({ override: { intel_quote: '!!not a quote!!' } });
    expect(status(garbage.report, 'quote_format').detail).toContain('does not decode');
    const missing = await run({ override: { intel_quote: undefined } });
    expect(status(missing.report, 'quote_format').detail).toContain('no quote');
  });

  it('dcap_signature: a quote whose signature does not verify', async () => {
    const { report } = await run({ quote: { corruptSignature: true } });
    expect(failed(report)).toEqual(['dcap_signature', 'tcb_status']);
    expect(status(report, 'dcap_signature').detail).toBe('ISV enclave report signature is invalid');
  });

  it('dcap_signature, dcap_crl, tcb_status: an unknown root (the chain ends at another CA)', async () => {
    const { report } = await run({}, {}, {}, createTestPki({ seed: 'someone else' }).rootCaDer);
    expect(failed(report)).toEqual(['dcap_signature', 'dcap_crl', 'tcb_status']);
  });

  it('the production entry point trusts only Intel\'s root: a test-PKI quote fails DCAP', async () => {
    const nonce = freshNonce();
    const { response } = testResponse(pki, { nonce, model: MODEL });
    const r = await verifyAttestation(response, { nonce, model: MODEL, now: NOW, collateral: testCollateral(pki, { now: NOW }) });
    expect(failed(r)).toEqual(['dcap_signature', 'dcap_crl', 'tcb_status']);
    expect(r.achieved).toBe('binding');
  });

  it('tcb_status: Revoked is never accepted, even when listed', async () => {
    const { report } = await run({}, { acceptTcb: ['UpToDate', 'Revoked'] }, { tcbStatus: 'Revoked' });
    expect(failed(report)).toEqual(['tcb_status']);
    expect(report.tcbStatus).toBe('Revoked');
    expect(status(report, 'tcb_status').detail).toContain('never accepted');
  });

  it('tcb_status: OutOfDate fails by default and passes when the policy lists it; advisories are reported', async () => {
    expect(failed((await run({}, {}, { tcbStatus: 'OutOfDate' })).report)).toEqual(['tcb_status']);
    const allowed = await run({}, { acceptTcb: ['UpToDate', 'OutOfDate'] }, { tcbStatus: 'OutOfDate' });
    expect(allowed.report).toMatchObject({ ok: true, tcbStatus: 'OutOfDate' });
    const sw = await run({}, {}, { tcbStatus: 'SWHardeningNeeded' });
    expect(sw.report).toMatchObject({ ok: true, tcbStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-TEST-0001'] });
  });

  it('dcap_crl (and DCAP): a revoked PCK certificate', async () => {
    const { report } = await run({}, {}, { revokePck: true });
    expect(failed(report)).toEqual(['dcap_signature', 'dcap_crl', 'tcb_status']);
    expect(status(report, 'dcap_crl').detail).toContain('PCK certificate');
    expect(status(report, 'dcap_crl').detail).toContain('revoked by the PCK CRL');
  });

  it('dcap_crl alone: a tampered CRL that dcap-qvl accepts', async () => {
    for (const which of ['pck', 'root'] as const) {
      const { report } = await run({}, {}, { tamperCrl: which });
      expect(failed(report), which).toEqual(['dcap_crl']);
      expect(status(report, 'dcap_crl').detail).toContain('signature does not verify');
    }
  });

  it('dcap_crl alone: a stale CRL', async () => {
    for (const which of ['pck', 'root'] as const) {
      const { report } = await run({}, {}, { staleCrl: which });
      expect(failed(report), which).toEqual(['dcap_crl']);
      expect(status(report, 'dcap_crl').detail).toContain('stale');
    }
  });

  it('dcap_crl: the other PCK CA\'s CRL (it cannot list this PCK certificate)', async () => {
    const { report } = await run({}, {}, { ca: 'processor' });
    expect(failed(report)).toContain('dcap_crl');
    expect(status(report, 'dcap_crl').detail).toContain('the quote\'s PCK certificate comes from');
  });
});

describe('collateral', () => {
  it('expired TCB info / QE identity throws collateral_expired (fail closed), with the refresh route', async () => {
    const e = await run({}, {}, { expired: true }).catch((x: unknown) => x);
    expect(isZkCreditsError(e, 'collateral_expired')).toBe(true);
    expect((e as { details: string }).details).toContain('GET /v1/tee/collateral');
  });

  it('no collateral source at level dcap throws collateral_unavailable', async () => {
    const e = await run({}, { collateral: undefined }).catch((x: unknown) => x);
    expect(isZkCreditsError(e, 'collateral_unavailable')).toBe(true);
  });

  it('asks the source for the quote\'s FMSPC and CA; a failing source becomes collateral_unavailable', async () => {
    const asked: unknown[] = [];
    const c = buildTestCollateral(pki, { now: NOW });
    const nonce = freshNonce();
    const { response } = testResponse(pki, { nonce, model: MODEL });
    await verifyAttestationWithRoot(response, { nonce, model: MODEL, now: NOW, collateral: async (q) => (asked.push(q), c) }, pki.rootCaDer);
    expect(asked).toEqual([{ fmspc: bytesToHex(pki.platform.fmspc), ca: 'platform' }]);
    const e = await verifyAttestationWithRoot(response, { nonce, model: MODEL, now: NOW, collateral: async () => { throw new Error('offline'); } }, pki.rootCaDer).catch((x: unknown) => x);
    expect(isZkCreditsError(e, 'collateral_unavailable')).toBe(true);
  });
});

describe('measurement pins (level measured)', () => {
  const measured = (pins: MemoryPinStore, rtmr3 = new Uint8Array(48)) => {
    const rtmrs = [new Uint8Array(48).fill(1), new Uint8Array(48).fill(2), new Uint8Array(48).fill(3), rtmr3] as const;
    return run({ quote: { rtmrs } }, { level: 'measured', pins });
  };

  it('pins on first use, passes while unchanged, fails on a change until re-pinned on purpose', async () => {
    const pins = new MemoryPinStore();
    const first = await measured(pins);
    expect(first.report).toMatchObject({ ok: true, achieved: 'measured' });
    expect(status(first.report, 'measurement').detail).toContain('pinned on first use');
    expect(await pins.get(MODEL)).toEqual(first.report.measurements);

    expect((await measured(pins)).report.ok).toBe(true);

    const changed = await measured(pins, new Uint8Array(48).fill(9));
    expect(changed.report).toMatchObject({ ok: false, achieved: 'dcap', measurementChanged: ['rtmr3'] });
    expect(failed(changed.report)).toEqual(['measurement']);
    expect(() => assertAttested(changed.report)).toThrow(expect.objectContaining({ code: 'attestation_failed', details: expect.stringContaining('rtmr3') }));
    // Still refused on the next attempt: a change is never adopted silently.
    expect((await measured(pins, new Uint8Array(48).fill(9))).report.ok).toBe(false);

    await repinMeasurements(pins, MODEL, changed.report);
    expect((await measured(pins, new Uint8Array(48).fill(9))).report.ok).toBe(true);
  });

  it('does not pin from a report that failed another check, and refuses to re-pin from one', async () => {
    const pins = new MemoryPinStore();
    const bad = await run({ quote: { debug: true } }, { level: 'measured', pins });
    expect(failed(bad.report)).toContain('measurement');
    expect(await pins.get(MODEL)).toBeUndefined();
    await expect(repinMeasurements(pins, MODEL, bad.report)).rejects.toThrow(expect.objectContaining({ code: 'attestation_failed' }));
  });

  it('level measured without a pin store fails the measurement check', async () => {
    const { report } = await run({}, { level: 'measured' });
    expect(failed(report)).toEqual(['measurement']);
  });
});
