// Every attestation fault visibly changes what the sim serves, and the check it targets fails
// (dcap-qvl for DCAP faults, @zkcredits/attest for CRLs and the binding/verdict checks).
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import type { CheckName } from '@zkcredits/attest';
import { TD_OFFSETS, verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import type { AttestationFaults } from '../src/index.js';
import { attest, collateralFrom, dcapVerify, MODEL, quoteOf } from './attestation-helpers.js';
import { API_KEY, useSim } from './helpers.js';

const reportData = (body: Record<string, unknown>) => bytesToHex(quoteOf(body).subarray(TD_OFFSETS.reportData, TD_OFFSETS.reportData + 64));

describe('attestation faults', () => {
  const sim = useSim();

  async function failedChecks(faults: AttestationFaults): Promise<CheckName[]> {
    sim().attestationFaults.set(faults);
    const { nonce, body } = await attest(sim());
    const report = await verifyAttestationWithRoot(body, { nonce, model: MODEL, collateral: collateralFrom(sim()) }, sim().attestationRootCaDer).catch(
      (e: { code?: string }) => ({ ok: false, checks: [{ name: e.code as CheckName, status: 'fail' as const }] }),
    );
    expect(report.ok).toBe(false);
    return report.checks.filter((c) => c.status === 'fail').map((c) => c.name);
  }

  it('wrongNonce: echoes and binds another nonce', async () => {
    sim().attestationFaults.set({ wrongNonce: true });
    const { nonce, body } = await attest(sim());
    expect(body.nonce).not.toBe(nonce);
    expect(reportData(body).slice(64)).toBe(body.nonce);
    expect(await failedChecks({ wrongNonce: true })).toContain('nonce_echo');
  });

  it('debug: DEBUG attribute set; dcap-qvl refuses the quote', async () => {
    sim().attestationFaults.set({ debug: true });
    const { body } = await attest(sim());
    expect(quoteOf(body)[TD_OFFSETS.tdAttributes]).toBe(0x01);
    expect(body.verified).toBe(true);
    await expect(dcapVerify(sim(), quoteOf(body))).rejects.toThrow('Debug mode is enabled');
    expect(await failedChecks({ debug: true })).toContain('debug_off');
  });

  it('otherKey: REPORTDATA binds another address than signing_address', async () => {
    sim().attestationFaults.set({ otherKey: true });
    const { body } = await attest(sim());
    expect(reportData(body).slice(0, 40)).not.toBe(body.signing_address.slice(2));
    expect((await dcapVerify(sim(), quoteOf(body))).status).toBe('UpToDate'); // the quote itself is genuine
    expect(await failedChecks({ otherKey: true })).toContain('report_data');
  });

  it('tcbStatus Revoked / revokedPck / expiredCollateral / brokenQuoteSignature fail DCAP', async () => {
    const cases: [AttestationFaults, string][] = [
      [{ tcbStatus: 'Revoked' }, 'TCB status is invalid: Revoked'],
      [{ revokedPck: true }, 'Certificate is revoked'],
      [{ expiredCollateral: true }, 'TCBInfo expired'],
      [{ brokenQuoteSignature: true }, 'ISV enclave report signature is invalid'],
    ];
    for (const [faults, message] of cases) {
      sim().attestationFaults.set(faults);
      const { body } = await attest(sim());
      await expect(dcapVerify(sim(), quoteOf(body)), JSON.stringify(faults)).rejects.toThrow(message);
    }
    sim().attestationFaults.set({ tcbStatus: 'OutOfDate' });
    expect((await dcapVerify(sim(), quoteOf((await attest(sim())).body))).status).toBe('OutOfDate');
    expect(await failedChecks({ tcbStatus: 'Revoked' })).not.toEqual([]);
    expect(await failedChecks({ brokenQuoteSignature: true })).toContain('dcap_signature');
  });

  it('tamperedCrl / staleCrl: the served CRL changes and our CRL check fails', async () => {
    const pckCrl = async () => Buffer.from(await (await fetch(`${sim().pcsUrl}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`)).arrayBuffer());
    const rootCrl = async () => Buffer.from(await (await fetch(sim().rootCaCrlUrl)).arrayBuffer());
    sim().attestationFaults.set({});
    const [goodPck, goodRoot] = [await pckCrl(), await rootCrl()];
    for (const which of ['pck', 'root'] as const) {
      for (const faults of [{ tamperedCrl: which }, { staleCrl: which }] as AttestationFaults[]) {
        sim().attestationFaults.set(faults);
        const changed = which === 'pck' ? !(await pckCrl()).equals(goodPck) : !(await rootCrl()).equals(goodRoot);
        expect(changed, JSON.stringify(faults)).toBe(true);
        const failed = await failedChecks(faults);
        expect(failed.includes('dcap_crl') || failed.includes('collateral_expired' as CheckName), `${JSON.stringify(faults)}: ${failed}`).toBe(true);
      }
    }
  });

  it('negativeServerVerification and serverVerdictFalse change the verdict fields only', async () => {
    sim().attestationFaults.set({ negativeServerVerification: true });
    const neg = (await attest(sim())).body;
    expect(neg).toMatchObject({ verified: true, server_verification: { tdx: { valid: false }, nonceBinding: { bound: false } } });
    expect((await dcapVerify(sim(), quoteOf(neg))).status).toBe('UpToDate');
    expect(await failedChecks({ negativeServerVerification: true })).toEqual(['server_verdict']);
    sim().attestationFaults.set({ serverVerdictFalse: true });
    expect((await attest(sim())).body).toMatchObject({ verified: false, server_verification: { tdx: { valid: true } } });
    expect(await failedChecks({ serverVerdictFalse: true })).toEqual(['server_verdict']);
  });

  it('clear() disarms; the quote verifies again', async () => {
    sim().attestationFaults.set({ debug: true, revokedPck: true });
    sim().attestationFaults.clear();
    expect(sim().attestationFaults.current).toEqual({});
    expect((await dcapVerify(sim(), quoteOf((await attest(sim())).body))).status).toBe('UpToDate');
  });
});

describe('debugEnclave option (as an honest Venice reports a debug TD)', () => {
  const sim = useSim({ apiKey: API_KEY, debugEnclave: true });

  it('sets DEBUG, verified: false and a negative server verification', async () => {
    const { body } = await attest(sim());
    expect(quoteOf(body)[TD_OFFSETS.tdAttributes]).toBe(0x01);
    expect(body).toMatchObject({ verified: false, server_verification: { tdx: { valid: false, error: 'TDX debug mode detected' } } });
  });
});
