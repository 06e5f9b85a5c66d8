/** Machine-readable error codes of the protocol library. Stable: clients match on them. */
export type ZkCreditsErrorCode =
  | 'invalid_field'
  | 'invalid_credential'
  | 'invalid_request'
  | 'tree_full'
  | 'leaf_not_found'
  | 'invalid_leaf_index'
  | 'hasher_not_ready'
  | 'crs_unavailable'
  | 'proof_failed'
  | 'invalid_proof'
  | 'vk_mismatch'
  | 'contract_error';

export type ZkCreditsErrorOptions = {
  /** The offending value or what was expected, for people reading logs. Never secrets. */
  details?: string;
  cause?: unknown;
};

/**
 * Base error of the zkcredits core: a short headline, a stable `code`, optional details.
 * Modelled on viem's `BaseError`.
 */
export class ZkCreditsError extends Error {
  override name = 'ZkCreditsError';
  readonly code: ZkCreditsErrorCode;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: ZkCreditsErrorCode, shortMessage: string, options: ZkCreditsErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

export class FieldError extends ZkCreditsError {
  override name = 'FieldError';
  constructor(shortMessage: string, options?: ZkCreditsErrorOptions) {
    super('invalid_field', shortMessage, options);
  }
}

export class CredentialError extends ZkCreditsError {
  override name = 'CredentialError';
  constructor(shortMessage: string, options?: ZkCreditsErrorOptions) {
    super('invalid_credential', shortMessage, options);
  }
}

export class TreeError extends ZkCreditsError {
  override name = 'TreeError';
}

export class ProofError extends ZkCreditsError {
  override name = 'ProofError';
}
