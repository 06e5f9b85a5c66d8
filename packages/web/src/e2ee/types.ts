/**
 * What crosses between the page and the prover worker for end-to-end encryption. The E2EE
 * client secret never crosses: it lives in the worker, next to the verifier that vouched for
 * the enclave key it encrypts to (src/e2ee/worker-side.ts).
 */
import type { AppErrorCode } from '../errors';

/** One named check of an attestation report (as `@zkcredits/attest` reports it). */
export type AttestationCheck = { name: string; status: 'pass' | 'fail' | 'skipped'; detail: string };

/** The parts of a verifier report the app shows; structured-cloneable, never secrets. */
export type AttestationSummary = {
  ok: boolean;
  model: string;
  /** The level asked for (always `dcap` in this app) and the highest one every check of which passed. */
  level: string;
  achieved: string;
  checks: AttestationCheck[];
  /** The enclave key the client encrypts to (uncompressed secp256k1 hex) and its Ethereum address. */
  modelPublicKeyHex?: string;
  signingAddress?: string;
  tcbStatus?: string;
  advisoryIds: string[];
  debug?: boolean;
  reportDataNonce?: 'raw' | 'sha256';
  fmspc?: string;
  collateralNextUpdate?: string;
  /** When this browser verified it (ms since the epoch). */
  verifiedAt: number;
};

/** An AppError as it crosses the worker boundary (Comlink keeps only an Error's message). */
export type WireError = { code: AppErrorCode; message: string; details?: string };

export type Wire<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** A verified enclave and the conversation's E2EE session (its key stays in the worker). */
export type E2eeOpened = { sessionId: string; attestation: AttestationSummary };

/** An attestation that did not verify: nothing may be sent. `attestation` is there when a report was made. */
export type E2eeRefused = { error: WireError; attestation?: AttestationSummary };

export type E2eeOpenResult = ({ ok: true } & E2eeOpened) | ({ ok: false } & E2eeRefused);

/** An OpenAI-style chat message as the app sends it. */
export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** The encrypted messages and the three Venice E2EE headers of one request. */
export type E2eeEnvelope = { headers: Record<string, string>; messages: ChatMessage[] };

/** The worker's end-to-end encryption API (src/prover/worker.ts, loaded lazily there). */
export interface E2eeWorkerApi {
  /** Fresh nonce → attestation (through /api/zk) → DCAP verification → a session with a fresh client key. */
  e2eeOpen(model: string): Promise<E2eeOpenResult>;
  /** Encrypts every message's text to the session's enclave key. */
  e2eeEncrypt(sessionId: string, messages: ChatMessage[]): Promise<Wire<E2eeEnvelope>>;
  /** Decrypts streamed deltas in order; a plaintext delta fails (closed). */
  e2eeDecrypt(sessionId: string, contents: string[]): Promise<Wire<string[]>>;
  /** Zeroes and forgets the session's client key. */
  e2eeClose(sessionId: string): Promise<void>;
  /** TEST BUILDS ONLY (absent otherwise): trust this root CA (DER, hex) instead of Intel's. */
  e2eeTrustTestRoot?(rootCaDerHex: string): Promise<void>;
  /** TEST BUILDS ONLY: time one verification of a fresh attestation (benchmark). */
  e2eeBenchVerify?(model: string): Promise<{ ok: boolean; verifyMs: number }>;
}
