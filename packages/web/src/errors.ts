import { ZkCreditsError, isZkCreditsError, type AccountErrorCode, type MeteredErrorCode, type VaultErrorCode } from '@zkcredits/core';
/** Stable machine codes of the web app's errors; the UI maps each to plain words. */
export type AppErrorCode =
  // vault: core's `VaultErrorCode`s (wrong_passphrase, backup_invalid, …; see src/vault/vault.ts)
  | VaultErrorCode
  // v2 accounts: core's `AccountErrorCode`s (no_tickets, account_expired, opening_failed, …)
  | AccountErrorCode
  // v2 metered accounts: core's `MeteredErrorCode`s (lane_busy, state_pending, state_signature_invalid, …)
  | MeteredErrorCode
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
  // v2 accounts in this browser
  /** The account's opening is not in the server's tree yet. */
  | 'account_not_in_tree'
  /** The server refuses the account: one of its tickets was used for two requests (slashed). */
  | 'account_revoked'
  /** The server answered this very request with this ticket before; the answer is gone. */
  | 'ticket_reused'
  /** The server does not accept this device's date for a ticket. */
  | 'invalid_today'
  /** Accounts wait for recovery (a restored or imported backup) before any ticket is used. */
  | 'accounts_recovering'
  /** No Web Locks in this browser: one writer per account cannot be guaranteed, so accounts are not used. */
  | 'no_web_locks'
  /** A metered call the server refused by its published policy (a penalty was signed on the lane). */
  | 'policy_violation'
  /** A message whose input alone could cost the most a metered call pre-pays (C_max). */
  | 'input_tokens_exceeded'
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
