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
  | 'invalid_manifest'
  /** A metered lane state whose signature does not verify under the deployment's on-chain state key. */
  | 'state_signature_invalid'
  /** A metered lane whose balance cannot pay the worst case of a call (C_max). */
  | 'insufficient_balance'
  /** A metered lane whose penalties reached its stake: no proof on it can be made. */
  | 'lane_frozen'
  /** The proving/verifying backend itself failed (a bb process died, its socket closed): not the input's fault. */
  | 'backend_failed';

export type ZkCreditsErrorOptions = {
  /** The offending value or what was expected, for people reading logs. Never secrets. */
  details?: string;
  /** The input at fault, named as the caller passed it (e.g. `root`, `nullifier_hash`). */
  param?: string;
  cause?: unknown;
};

const ZKC_ERROR = Symbol.for('zkcredits.error');

/**
 * Base of every zkcredits error: a short headline, a stable machine-readable `code`, the input at
 * fault (`param`), details (the bad value or what was expected) and the `cause`. Modelled on
 * viem's `BaseError`. Subclasses (core's, the server's) narrow `code` to their own codes.
 *
 * @example
 * try { parseField(input, 'root') } catch (e) { if (isZkCreditsError(e, 'invalid_field')) e.param // 'root' }
 */
export class ZkCreditsError<Code extends string = ZkCreditsErrorCode> extends Error {
  override name = 'ZkCreditsError';
  /** Brand that survives a second copy of this package: match with `isZkCreditsError`, never `instanceof`. */
  readonly [ZKC_ERROR] = true;
  readonly code: Code;
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly param: string | undefined;

  constructor(code: Code, shortMessage: string, options: ZkCreditsErrorOptions = {}) {
    super(options.details ? `${shortMessage}\n\nDetails: ${options.details}` : shortMessage, {
      cause: options.cause,
    });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
    this.param = options.param;
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

/** Codes of the check of a server's tree against the chain (`verifyTreeOnChain`), a client-side check. */
export type TreeCheckErrorCode =
  /** The server's tree does not match the CreditPool on chain: drop it, prove nothing. */
  | 'tree_mismatch'
  /** The chain could not be read to check the tree; nothing was checked. */
  | 'chain_unavailable';

/** The server's tree failed the check against the chain, or the chain could not be read. */
export class TreeCheckError extends ZkCreditsError<TreeCheckErrorCode> {
  override name = 'TreeCheckError';
}

/** Codes of the credential vault and its backup file (`@zkcredits/core/vault`), client-side only. */
export type VaultErrorCode =
  | 'weak_passphrase'
  | 'wrong_passphrase'
  | 'vault_missing'
  | 'vault_exists'
  /** The vault was locked (`lock()`); unlock it again to use it. */
  | 'vault_locked'
  /** The stored vault cannot be read (malformed, or a credit fails to decrypt under the right key). */
  | 'vault_corrupt'
  /** A credit record does not have the vault's shape. */
  | 'invalid_credit'
  | 'credit_not_found'
  /** An account record does not have the vault's shape. */
  | 'invalid_account'
  | 'account_not_found'
  /** Not a backup file, or a damaged one. */
  | 'backup_invalid'
  /** A backup file of another format version. */
  | 'backup_unsupported_version'
  | 'backup_wrong_passphrase'
  /** The vault's storage (IndexedDB, a file) failed to read or write. */
  | 'storage_failed';

/** An error of the credential vault or its backup file (`@zkcredits/core/vault`). */
export class VaultError extends ZkCreditsError<VaultErrorCode> {
  override name = 'VaultError';
}

/** Codes of protocol v2 flat accounts on the client side: opening, spending tickets, recovery. */
export type AccountErrorCode =
  /** The account is not open (pending, abandoned or revoked): no ticket can be spent from it. */
  | 'account_not_open'
  /** Every ticket of the account was taken. */
  | 'no_tickets'
  /** The account came from a backup and its counter was not recovered yet (`recoverAccounts`). */
  | 'recovery_needed'
  /** The account's expiry day has passed. */
  | 'account_expired'
  /** The `/v2/zkcredits/spent` download failed or its answer broke the documented contract. */
  | 'spent_download_failed'
  /** An opening could not be prepared, sent or confirmed (the message says whether anything was paid). */
  | 'opening_failed'
  /** The chain could not be read. */
  | 'chain_unavailable';

/** An error of protocol v2 flat accounts on the client side (opening, the ticket journal, spending, recovery). */
export class AccountError extends ZkCreditsError<AccountErrorCode> {
  override name = 'AccountError';
}

/**
 * True for any zkcredits error, also one thrown by another copy of this package: errors are matched
 * by brand and shape, never by class identity. With a `code`, only errors with that code. Without
 * one it also matches the errors of packages built on this family (the server's), so its `code` is
 * a plain string: check it against a table to narrow.
 */
export function isZkCreditsError<C extends string>(error: unknown, code: C): error is ZkCreditsError<C>;
export function isZkCreditsError(error: unknown): error is ZkCreditsError<string>;
export function isZkCreditsError(error: unknown, code?: string): boolean {
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
