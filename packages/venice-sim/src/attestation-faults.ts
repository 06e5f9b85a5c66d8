/**
 * Attestation faults: what a lying, broken or compromised provider could serve. Each changes one
 * thing, and the sim's own verdict (`verified`, `server_verification`) stays positive unless a
 * verdict fault says otherwise, so every client check can be tested on its own.
 *
 * Set from options (`attestationFaults`) or at runtime (`sim.attestationFaults.set({...})`).
 */
import type { TcbStatus } from '@zkcredits/attest';

export interface AttestationFaults {
  /** The response echoes, and REPORTDATA binds, a nonce other than the one asked for (a replay). */
  wrongNonce?: boolean;
  /** The TD's DEBUG attribute is set in the quote. */
  debug?: boolean;
  /** REPORTDATA binds another key's address than the served `signing_key` / `signing_address`. */
  otherKey?: boolean;
  /** The collateral's TCB status for the platform (e.g. `Revoked`, `OutOfDate`). */
  tcbStatus?: TcbStatus;
  /** The PCK CRL lists the quote's PCK certificate. */
  revokedPck?: boolean;
  /** TCB info and QE identity are past their nextUpdate. */
  expiredCollateral?: boolean;
  /** That CRL does not verify (valid DER, broken signature). */
  tamperedCrl?: 'pck' | 'root';
  /** That CRL is correctly signed but past its nextUpdate. */
  staleCrl?: 'pck' | 'root';
  /** The quote's ECDSA signature (attestation key over header ‖ TD report) does not verify. */
  brokenQuoteSignature?: boolean;
  /** `server_verification.tdx.valid` and friends are false (with an error), `verified` still true. */
  negativeServerVerification?: boolean;
  /** The plaintext verdict `verified` is false. */
  serverVerdictFalse?: boolean;
}

/** The armed attestation faults; routes read `current` on every request. */
export class AttestationFaultControl {
  #current: Readonly<AttestationFaults>;
  readonly #initial: Readonly<AttestationFaults>;

  constructor(initial: AttestationFaults = {}) {
    this.#initial = { ...initial };
    this.#current = this.#initial;
  }

  /** Replaces the armed faults (an empty object disarms all). */
  set(faults: AttestationFaults): void {
    this.#current = { ...faults };
  }

  /** Back to the faults the sim was started with. */
  clear(): void {
    this.#current = this.#initial;
  }

  get current(): Readonly<AttestationFaults> {
    return this.#current;
  }
}
