import { ZkCreditsError, type ZkCreditsErrorOptions } from '@zkcredits/core/errors';

/**
 * Stable codes of `@zkcredits/attest`. Clients match on them (never on messages, never with
 * `instanceof`: use `isZkCreditsError(e, code)` from `@zkcredits/core/errors`).
 */
export type AttestErrorCode =
  /** A secp256k1 public key is malformed or not on the curve. */
  | 'invalid_public_key'
  /** An E2EE field is not a packed payload (hex, >= 186 chars). */
  | 'invalid_ciphertext'
  /** AES-GCM authentication failed, or the plaintext is not UTF-8. */
  | 'decrypt_failed'
  /** The attestation could not be fetched (network, HTTP status). */
  | 'attestation_unavailable'
  /** The attestation response has an unexpected shape. */
  | 'attestation_malformed'
  /** One or more checks failed at the required level: `report` says which. */
  | 'attestation_failed'
  /** DCAP collateral could not be fetched or does not parse. */
  | 'collateral_unavailable'
  /** DCAP collateral is past its `nextUpdate`: refresh it. */
  | 'collateral_expired'
  /** A streamed answer was not what an E2EE answer must be (plaintext, cut short, malformed). */
  | 'stream_invalid'
  /** An E2EE session was used after `destroy()`. */
  | 'session_closed';

export class AttestError extends ZkCreditsError<AttestErrorCode> {
  override name = 'AttestError';
  constructor(code: AttestErrorCode, shortMessage: string, options?: ZkCreditsErrorOptions) {
    super(code, shortMessage, options);
  }
}
