import { ZkCreditsError, isZkCreditsError, type VaultErrorCode } from '@zkcredits/core';
/** Stable machine codes of the web app's errors; the UI maps each to plain words. */
export type AppErrorCode =
  // vault: core's `VaultErrorCode`s (wrong_passphrase, backup_invalid, …; see src/vault/vault.ts)
  | VaultErrorCode
  // wallet / chain
  | 'wallet_rejected'
  | 'wallet_insufficient_funds'
  | 'wallet_wrong_chain'
  | 'wallet_not_connected'
  | 'wallet_failed'
  | 'purchase_reverted'
  | 'price_changed'
  | 'chain_reset'
  // prover / server
  | 'prover_failed'
  | 'no_credits'
  | 'server_rejected'
  | 'server_unavailable'
  | 'wrong_server'
  | 'chain_unavailable'
  | 'tree_mismatch'
  | 'upstream_failed'
  | 'aborted'
  // end-to-end encryption
  /** The enclave's attestation did not verify (or could not be fetched): nothing was sent. */
  | 'attestation_failed'
  /** An E2EE answer was not what it must be (plaintext, undecryptable), or the session is gone. */
  | 'e2ee_failed'
  /** A request an E2EE model cannot take privately (tools, non-text content, a readable model mid-conversation). */
  | 'e2ee_unsupported';

/**
 * Error of the web app: a short headline meant for people, a stable `code`, optional
 * details (the bad value or what was expected). Never carries secrets.
 */
export class AppError extends ZkCreditsError<AppErrorCode> {
  override name = 'AppError';
  constructor(code: AppErrorCode, shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(code, shortMessage, options);
  }
}

export function isAppError(error: unknown, code?: AppErrorCode): error is AppError {
  // The zkcredits error family, matched by brand and name (never instanceof across packages).
  return isZkCreditsError(error) && error.name === 'AppError' && (code === undefined || (error.code as string) === code);
}
