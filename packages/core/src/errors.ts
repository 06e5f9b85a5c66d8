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
  | 'contract_error'
  | 'invalid_manifest';

export type ZkCreditsErrorOptions = {
  /** The offending value or what was expected, for people reading logs. Never secrets. */
  details?: string;
  cause?: unknown;
};

/**
 * Base error of the zkcredits core: a short headline, a stable `code`, optional details.
 * Modelled on viem's `BaseError`.
 */
const ZKC_ERROR = Symbol.for('zkcredits.error');

export class ZkCreditsError extends Error {
  override name = 'ZkCreditsError';
  /** Brand that survives a second copy of this package: match with `isZkCreditsError`, never `instanceof`. */
  readonly [ZKC_ERROR] = true;
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

/**
 * True for any zkcredits core error (optionally with this `code`), also one thrown by another
 * copy of this package: errors are matched by brand and shape, never by class identity.
 */
export function isZkCreditsError(error: unknown, code?: ZkCreditsErrorCode): error is ZkCreditsError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [ZKC_ERROR]?: unknown })[ZKC_ERROR] === true &&
    (code === undefined || (error as { code?: unknown }).code === code)
  );
}

/**
 * The first error named one of `names` in `error` and its `cause` chain, else undefined.
 * For errors of libraries a caller may bring in another version (viem): a class from our copy
 * would not match an error thrown by theirs, a name does.
 */
export function findErrorByName(error: unknown, ...names: string[]): (Error & Record<string, unknown>) | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; typeof e === 'object' && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (names.includes((e as { name?: unknown }).name as string)) return e as Error & Record<string, unknown>;
  }
  return undefined;
}
