/// <reference lib="webworker" />
/**
 * End-to-end encryption inside the prover worker, loaded there with `import()` on first use
 * (the verifier and its certificate code stay out of the page's first load).
 *
 * Per conversation: a fresh 32-byte nonce, the attestation fetched through the app's own
 * pass-through (`/api/zk/v1/tee/attestation`), Intel DCAP verification with collateral from
 * the zkcredits server (`/api/zk/v1/tee/collateral`, Intel-signed, cached here), then an E2EE
 * session with a fresh client key. The client secret never leaves this worker: the page gets
 * the request headers and ciphertext, and hands back the streamed deltas to decrypt.
 */
import {
  createE2eeSession,
  fetchAttestation,
  serverCollateralSource,
  verifyAttestation,
  type AttestationReport,
  type CollateralSource,
  type E2eeSession,
  type VerifyOptions,
} from '@zkcredits/attest';
import { isZkCreditsError } from '@zkcredits/core/errors';
import type { AppErrorCode } from '../errors';
import type { AttestationSummary, ChatMessage, E2eeEnvelope, E2eeOpenResult, Wire, WireError } from './types';
import { collateralStore } from './collateral-store';
import { failedChecksText } from './words';

/** The app's pass-through to the API server, as an absolute URL (workers resolve against their script). */
const API_BASE = `${self.location.origin}/api/zk`;

/** Verifies one raw attestation response. Production: Intel's root only. */
export type Verifier = (raw: unknown, options: VerifyOptions) => Promise<AttestationReport>;

let verifier: Verifier = verifyAttestation;

/**
 * Replaces the verifier. Called only by the test-build hook (src/e2ee/test-trust.ts, through
 * the worker's `e2eeTrustTestRoot`, which production builds do not contain).
 */
export function setVerifier(v: Verifier): void {
  verifier = v;
}

/**
 * Collateral (Intel-signed, so the server can withhold it but not forge it) from the server's
 * mirror, cached until its nextUpdate in memory and in IndexedDB (re-checked when read back).
 */
let collateral: CollateralSource | undefined;

function collateralSource(): CollateralSource {
  collateral ??= serverCollateralSource({ baseUrl: API_BASE, fetch: (input, init) => fetch(input, init), cache: collateralStore });
  return collateral;
}

function summary(report: AttestationReport): AttestationSummary {
  return {
    ok: report.ok,
    model: report.model,
    level: report.level,
    achieved: report.achieved,
    checks: report.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail })),
    modelPublicKeyHex: report.modelPublicKeyHex,
    signingAddress: report.signingAddress,
    tcbStatus: report.tcbStatus,
    advisoryIds: [...report.advisoryIds],
    debug: report.debug,
    reportDataNonce: report.reportDataNonce,
    fmspc: report.fmspc,
    collateralNextUpdate: report.collateralNextUpdate,
    verifiedAt: Date.now(),
  };
}

function wireError(code: AppErrorCode, message: string, details?: string): WireError {
  return { code, message, ...(details ? { details: details.slice(0, 400) } : {}) };
}

const closed = (): WireError => wireError('e2ee_failed', 'This conversation’s encryption key was dropped. Send the message again.');

/** An error from `@zkcredits/attest` (or the network) as the page's AppError, in plain words. */
function fromAttestError(error: unknown): WireError {
  const code = isZkCreditsError(error) ? String(error.code) : 'unknown';
  const details = isZkCreditsError(error) ? error.details : error instanceof Error ? error.message.split('\n')[0] : undefined;
  switch (code) {
    case 'attestation_unavailable':
      return wireError('attestation_failed', 'The model’s attestation could not be fetched, so your message was not sent and no credit was used. Try again shortly.', details);
    case 'collateral_unavailable':
      return wireError('attestation_failed', 'Intel’s signed data needed to check the model’s attestation could not be fetched, so your message was not sent and no credit was used. Try again shortly.', details);
    case 'collateral_expired':
      return wireError('attestation_failed', 'Intel’s signed data for checking the model’s attestation has expired and must be refreshed by the server, so your message was not sent and no credit was used.', details);
    case 'attestation_malformed':
      return wireError('attestation_failed', 'The model’s attestation is malformed, so your message was not sent and no credit was used.', details);
    case 'stream_invalid':
    case 'decrypt_failed':
    case 'invalid_ciphertext':
      return wireError('e2ee_failed', 'The answer did not arrive end-to-end encrypted to this conversation’s key, so it was not shown.', details);
    case 'session_closed':
      return closed();
    default:
      return wireError('attestation_failed', 'The model’s attestation could not be checked, so your message was not sent and no credit was used.', details);
  }
}

type Session = { model: string; session: E2eeSession };
const sessions = new Map<string, Session>();

function newSessionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Fetches and verifies a fresh attestation for `model` at the DCAP level. */
export async function attest(model: string): Promise<{ report: AttestationReport; verifyMs: number }> {
  const { response, nonce } = await fetchAttestation({ baseUrl: `${API_BASE}/v1`, model, fetch: (input, init) => fetch(input, init) });
  const t0 = performance.now();
  const report = await verifier(response, { nonce, model, level: 'dcap', collateral: collateralSource() });
  return { report, verifyMs: performance.now() - t0 };
}

export async function open(model: string): Promise<E2eeOpenResult> {
  let report: AttestationReport;
  try {
    ({ report } = await attest(model));
  } catch (error) {
    return { ok: false, error: fromAttestError(error) };
  }
  const attestation = summary(report);
  if (!report.ok || !report.modelPublicKeyHex || report.achieved === 'none' || report.achieved === 'binding') {
    const failed = failedChecksText(report.checks) || `reached level ${report.achieved}, ${report.level} required`;
    return {
      ok: false,
      attestation,
      error: wireError('attestation_failed', `The model’s attestation did not verify, so your message was not sent and no credit was used. ${failed}.`),
    };
  }
  const sessionId = newSessionId();
  sessions.set(sessionId, { model, session: createE2eeSession(report.modelPublicKeyHex) });
  return { ok: true, sessionId, attestation };
}

export function encrypt(sessionId: string, messages: ChatMessage[]): Wire<E2eeEnvelope> {
  try {
    const s = sessions.get(sessionId);
    if (!s) return { ok: false, error: closed() };
    return { ok: true, value: { headers: s.session.headers(), messages: s.session.encryptMessages(messages) } };
  } catch (error) {
    return { ok: false, error: fromAttestError(error) };
  }
}

export function decrypt(sessionId: string, contents: string[]): Wire<string[]> {
  try {
    const s = sessions.get(sessionId);
    if (!s) return { ok: false, error: closed() };
    return { ok: true, value: contents.map((c) => s.session.decryptContent(c)) };
  } catch (error) {
    return { ok: false, error: fromAttestError(error) };
  }
}

export function close(sessionId: string): void {
  sessions.get(sessionId)?.session.destroy();
  sessions.delete(sessionId);
}
