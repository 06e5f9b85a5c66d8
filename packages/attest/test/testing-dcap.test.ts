// The test PKI, quotes and collateral of `@zkcredits/attest/testing`, checked by @phala/dcap-qvl
// itself: a good quote verifies `UpToDate`; each fault fails the way a real one would.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildTestCollateral, buildTestQuote, createTestPki, TD_OFFSETS, type TestCollateralOptions } from '../src/testing/index.js';

const require = createRequire(import.meta.url);
const { QuoteVerifier, Quote } = require('@phala/dcap-qvl') as typeof import('@phala/dcap-qvl');

const NOW = new Date('2026-09-01T12:00:00Z');
const nowSecs = Math.floor(NOW.getTime() / 1000);
const pki = createTestPki({ seed: 'testing-dcap' });
const reportData = Uint8Array.from({ length: 64 }, (_, i) => i);

const verify = (quote: Uint8Array, o: Partial<TestCollateralOptions> = {}, root = pki.rootCaDer) =>
  QuoteVerifier.newWithRootCa(Buffer.from(root)).verify(quote, buildTestCollateral(pki, { now: NOW, ...o }) as never, nowSecs);

describe('test DCAP PKI under @phala/dcap-qvl', () => {
  it('a good quote verifies UpToDate and carries the REPORTDATA', () => {
    const quote = buildTestQuote(pki, { reportData });
    const r = verify(quote);
    expect(r.status).toBe('UpToDate');
    expect(r.advisory_ids).toEqual([]);
    const td = r.report.asTd10()!;
    expect(Buffer.from(td.reportData)).toEqual(Buffer.from(reportData));
    expect(Buffer.from(td.tdAttributes).toString('hex')).toBe('0000001000000000');
    expect(Buffer.from(quote.subarray(TD_OFFSETS.reportData, TD_OFFSETS.reportData + 64))).toEqual(Buffer.from(reportData));
  });

  it('is deterministic given a seed (keys, certificates, collateral)', () => {
    const again = createTestPki({ seed: 'testing-dcap' });
    expect(Buffer.from(again.rootCaDer)).toEqual(Buffer.from(pki.rootCaDer));
    expect(again.pckChainPem).toBe(pki.pckChainPem);
    expect(buildTestCollateral(again, { now: NOW })).toEqual(buildTestCollateral(pki, { now: NOW }));
    expect(Buffer.from(createTestPki().rootCaDer)).not.toEqual(Buffer.from(pki.rootCaDer));
  });

  it('dcap-qvl parses the quote: TDX v4, type-6 certification data wrapping the type-5 PCK chain', () => {
    const q = Quote.parse(buildTestQuote(pki, { reportData }));
    expect(q.header).toMatchObject({ version: 4, attestationKeyType: 2, teeType: 0x81 });
    expect(q.authData.data.certificationData.certType).toBe(6);
    expect((q as unknown as { innerCertType(): number }).innerCertType()).toBe(5); // untyped in 0.3.9
    expect(Buffer.from(q.rawCertChain()).toString('utf8')).toBe(`${pki.pckChainPem}\0`);
  });

  it('a processor-CA PCK certificate verifies too', () => {
    const proc = createTestPki({ seed: 'testing-dcap-processor', pckCa: 'processor' });
    const quote = buildTestQuote(proc, { reportData });
    const collateral = buildTestCollateral(proc, { now: NOW });
    expect(QuoteVerifier.newWithRootCa(Buffer.from(proc.rootCaDer)).verify(quote, collateral as never, nowSecs).status).toBe('UpToDate');
  });

  it('reports the collateral\'s status for the platform TCB, and an older TEE TCB matches the OutOfDate level', () => {
    expect(verify(buildTestQuote(pki, { reportData }), { tcbStatus: 'SWHardeningNeeded' })).toMatchObject({
      status: 'SWHardeningNeeded',
      advisory_ids: ['INTEL-SA-TEST-0001'],
    });
    const older = Uint8Array.from(pki.platform.teeTcbSvn, (v) => Math.max(0, v - 1));
    expect(verify(buildTestQuote(pki, { reportData, teeTcbSvn: older })).status).toBe('OutOfDate');
  });

  it('fails each fault the way dcap-qvl reports it', () => {
    const quote = buildTestQuote(pki, { reportData });
    expect(() => verify(quote, { tcbStatus: 'Revoked' })).toThrow('TCB status is invalid: Revoked');
    expect(() => verify(quote, { expired: true })).toThrow('TCBInfo expired');
    expect(() => verify(buildTestQuote(pki, { reportData, corruptSignature: true }))).toThrow('ISV enclave report signature is invalid');
    expect(() => verify(quote, { revokePck: true })).toThrow('Certificate is revoked');
    expect(() => verify(quote, {}, createTestPki({ seed: 'another root' }).rootCaDer)).toThrow(/Failed to verify certificate chain/);
    expect(() => verify(buildTestQuote(pki, { reportData, debug: true }))).toThrow('Debug mode is enabled');
  });

  it('any flipped bit in the signed part breaks the quote signature', () => {
    for (const at of [TD_OFFSETS.mrTd, TD_OFFSETS.reportData + 63, 5]) {
      const q = buildTestQuote(pki, { reportData });
      q[at]! ^= 0x01;
      expect(() => verify(q)).toThrow();
    }
  });

  it('stale and tampered CRLs still parse (dcap-qvl 0.3.9 checks neither; our own CRL check does)', () => {
    const quote = buildTestQuote(pki, { reportData });
    for (const o of [{ staleCrl: 'pck' }, { staleCrl: 'root' }, { tamperCrl: 'pck' }, { tamperCrl: 'root' }] as const) {
      expect(verify(quote, o).status).toBe('UpToDate');
    }
  });
});
