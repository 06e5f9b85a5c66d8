/**
 * Typed errors raised by the client-side E2EE helper (and by the shared crypto
 * primitives). Each error has a stable machine `code`, a short headline and
 * optional `details` saying what was received and what was expected.
 */
export type E2eeErrorCode =
  | 'INVALID_PUBLIC_KEY'
  | 'INVALID_CIPHERTEXT'
  | 'DECRYPT_FAILED'
  | 'ATTESTATION_FETCH_FAILED'
  | 'ATTESTATION_INVALID'
  | 'ATTESTATION_NONCE_MISMATCH'
  | 'ATTESTATION_MODEL_MISMATCH'
  | 'ATTESTATION_DEBUG_ENCLAVE'
  | 'ATTESTATION_KEY_NOT_BOUND'
  | 'ATTESTATION_QUOTE_SIGNATURE_INVALID'
  | 'ATTESTATION_UNTRUSTED_AUTHORITY'
  | 'STREAM_INVALID';

export class E2eeError extends Error {
  override readonly name = 'E2eeError';
  readonly code: E2eeErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: E2eeErrorCode, shortMessage: string, opts: { details?: string; cause?: unknown } = {}) {
    super(opts.details ? `${shortMessage}\n\nDetails: ${opts.details}` : shortMessage, { cause: opts.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = opts.details;
  }
}
