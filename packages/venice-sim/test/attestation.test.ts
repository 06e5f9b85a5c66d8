// The sim's attestation speaks DCAP: full TDX v4 quotes under its test PKI, verifiable by
// @phala/dcap-qvl (with the sim's root as trust anchor) against collateral fetched from the sim's
// Intel-PCS-shaped routes, in both response shapes and encodings.
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { TD_OFFSETS, verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import { measurementFor } from '../src/index.js';
import { attest, collateralFrom, dcap, dcapVerify, MODEL, quoteOf } from './attestation-helpers.js';
import { API_KEY, useSim } from './helpers.js';

describe('attestation (flat shape, hex quote)', () => {
  const sim = useSim();

  it('has Venice\'s fields, a hex quote binding address ‖ zeros ‖ nonce, and a synthetic nvidia_payload string', async () => {
    const { nonce, body } = await attest(sim());
    expect(body).toMatchObject({
      verified: true,
      nonce,
      model: MODEL,
      tee_provider: 'venice-sim',
      tee_hardware: 'intel-tdx',
      signing_key: sim().enclavePublicKeyHex(MODEL),
      signing_public_key: sim().enclavePublicKeyHex(MODEL),
      signing_algo: 'ecdsa',
      server_verification: { tdx: { valid: true }, nonceBinding: { bound: true, method: 'raw' } },
    });
    expect(body.intel_quote).toMatch(/^[0-9a-f]+$/);
    const quote = quoteOf(body);
    const rd = bytesToHex(quote.subarray(TD_OFFSETS.reportData, TD_OFFSETS.reportData + 64));
    expect(rd).toBe(body.signing_address.slice(2) + '00'.repeat(12) + nonce);
    expect(bytesToHex(quote.subarray(TD_OFFSETS.mrTd, TD_OFFSETS.mrTd + 48))).toBe(bytesToHex(measurementFor(MODEL)));
    expect(typeof body.nvidia_payload).toBe('string');
    const gpu = JSON.parse(body.nvidia_payload as string);
    expect(gpu).toMatchObject({ nonce, arch: 'HOPPER' });
    expect(gpu.evidence_list).toHaveLength(1);
    expect(Buffer.from(gpu.evidence_list[0].evidence, 'base64').toString()).toContain('SYNTHETIC');
  });

  it('the quote verifies UpToDate with dcap-qvl: sim root as anchor, collateral from the sim\'s PCS routes', async () => {
    const { body } = await attest(sim());
    const r = await dcapVerify(sim(), quoteOf(body));
    expect(r.status).toBe('UpToDate');
    // …and under Intel's real root it does not.
    const collateral = await dcap.getCollateralForFmspc(sim().pcsUrl, sim().fmspc, 'platform', false);
    expect(() => dcap.QuoteVerifier.newProd().verify(quoteOf(body), collateral as never, Math.floor(Date.now() / 1000))).toThrow();
  });

  it('passes @zkcredits/attest at level dcap with the sim root and the PCS collateral client', async () => {
    const { nonce, body } = await attest(sim());
    const report = await verifyAttestationWithRoot(body, { nonce, model: MODEL, collateral: collateralFrom(sim()) }, sim().attestationRootCaDer);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report).toMatchObject({ ok: true, achieved: 'dcap', tcbStatus: 'UpToDate', ca: 'platform', shape: 'flat' });
    expect(report.fmspc?.toUpperCase()).toBe(sim().fmspc);
    expect(report.tee.quoteEncoding).toBe('hex');
  });

  it('keeps the rules: 400 non-TEE model, 404 unknown, 400 bad nonce; no API key needed', async () => {
    expect((await fetch(`${sim().apiBaseUrl}/tee/attestation?model=llama-3.3-70b`)).status).toBe(400);
    expect((await fetch(`${sim().apiBaseUrl}/tee/attestation?model=nope`)).status).toBe(404);
    expect((await fetch(`${sim().apiBaseUrl}/tee/attestation?model=${MODEL}&nonce=abcd`)).status).toBe(400);
  });
});

describe('attestation shapes and encodings', () => {
  const b64 = useSim({ apiKey: API_KEY, quoteEncoding: 'base64' });
  const aci = useSim({ apiKey: API_KEY, attestationShape: 'aci/1' });

  it('quoteEncoding base64 serves the same quote in base64', async () => {
    const { body } = await attest(b64());
    expect(body.intel_quote).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(body.intel_quote).not.toMatch(/^[0-9a-f]+$/);
    expect((await dcapVerify(b64(), quoteOf(body))).status).toBe('UpToDate');
  });

  it('aci/1: api_version, attestation.evidence.{quote (hex), quote_report_data}, root fields', async () => {
    const { nonce, body } = await attest(aci());
    expect(body).toMatchObject({
      api_version: 'aci/1',
      verified: true,
      nonce,
      model: MODEL,
      tee_provider: 'venice-sim',
      debug: false,
      signing_public_key: aci().enclavePublicKeyHex(MODEL),
      attestation: { tee_type: 'tdx' },
    });
    expect(typeof body.nvidia_payload).toBe('string');
    expect(body.intel_quote).toBeUndefined();
    const ev = (body.attestation as { evidence: { quote: string; quote_report_data: string } }).evidence;
    expect(ev.quote).toMatch(/^[0-9a-f]+$/);
    expect(ev.quote_report_data).toBe(body.signing_address.slice(2) + '00'.repeat(12) + nonce);
    expect((await dcapVerify(aci(), quoteOf(body))).status).toBe('UpToDate');
    const report = await verifyAttestationWithRoot(body, { nonce, model: MODEL, collateral: collateralFrom(aci()) }, aci().attestationRootCaDer);
    expect(report).toMatchObject({ ok: true, shape: 'aci/1' });
  });
});
