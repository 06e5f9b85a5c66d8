/**
 * The CLI's errors and exit codes. Expected failures are `ZkCreditsError`s (the CLI's own
 * `CliError`, the client's, the vault's, the network's): they print one short message (and its
 * details), never a stack trace, and exit with the code of the table below (README "Exit codes").
 */
import { ZkCreditsError, isZkCreditsError } from '@zkcredits/core/errors';

/** Exit codes (stable; documented in the README). */
export const EXIT = {
  ok: 0,
  /** Bad command line: unknown option, missing argument, invalid value. */
  usage: 1,
  /** The home directory: not initialised, already initialised, unreadable or bad config. */
  config: 2,
  /** The vault: wrong passphrase, damaged file, no keychain entry, in use by another process. */
  vault: 3,
  /** The server or chain is not the one chosen: another verification key, chain or contract, a tree that does not match the chain. */
  untrusted: 4,
  /** Could not reach the server, the RPC or the SOCKS proxy. */
  network: 5,
  /** Nothing to pay with: no credit (none bought, none synced yet, all busy) and no account with calls left. */
  noCredits: 6,
  /** A purchase or an account opening failed (says whether anything was paid). */
  purchase: 7,
  /** The prover or its CRS. */
  prover: 8,
  /** Attestation or end-to-end encryption failed (nothing sent in the clear). */
  attestation: 9,
  /** The server refused the request (see the message). */
  rejected: 10,
  /** A `doctor` check failed. */
  doctor: 11,
  /** Unexpected: a bug. */
  internal: 70,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

export type CliErrorCode =
  | 'usage'
  | 'not_initialized'
  | 'already_initialized'
  | 'config_invalid'
  | 'home_unsafe'
  | 'vault_busy'
  | 'keychain_unavailable'
  | 'keychain_missing'
  | 'passphrase_required'
  | 'wallet_key_required'
  | 'wallet_key_invalid'
  | 'confirmation_required'
  | 'file_error'
  | 'doctor_failed'
  | 'attestation_failed';

/** An expected failure of the CLI itself. */
export class CliError extends ZkCreditsError<CliErrorCode> {
  override name = 'CliError';
}

const BY_CODE: Record<string, number> = {
  usage: EXIT.usage,
  invalid_request: EXIT.usage,
  invalid_socks_url: EXIT.usage,
  unsupported_url: EXIT.usage,
  wallet_key_invalid: EXIT.usage,
  confirmation_required: EXIT.usage,
  not_initialized: EXIT.config,
  already_initialized: EXIT.config,
  config_invalid: EXIT.config,
  home_unsafe: EXIT.config,
  file_error: EXIT.config,
  wallet_key_required: EXIT.usage,
  passphrase_required: EXIT.vault,
  weak_passphrase: EXIT.usage,
  wrong_passphrase: EXIT.vault,
  vault_missing: EXIT.vault,
  vault_exists: EXIT.config,
  vault_locked: EXIT.vault,
  vault_corrupt: EXIT.vault,
  invalid_credit: EXIT.vault,
  invalid_account: EXIT.vault,
  account_not_found: EXIT.vault,
  credit_not_found: EXIT.vault,
  backup_invalid: EXIT.vault,
  backup_unsupported_version: EXIT.vault,
  backup_wrong_passphrase: EXIT.vault,
  storage_failed: EXIT.vault,
  store_failed: EXIT.vault,
  vault_busy: EXIT.vault,
  keychain_unavailable: EXIT.vault,
  keychain_missing: EXIT.vault,
  vk_mismatch: EXIT.untrusted,
  wrong_chain: EXIT.untrusted,
  wrong_contract: EXIT.untrusted,
  tree_mismatch: EXIT.untrusted,
  server_unavailable: EXIT.network,
  chain_unavailable: EXIT.network,
  spent_download_failed: EXIT.network,
  socks_unreachable: EXIT.network,
  socks_request_failed: EXIT.network,
  no_credits: EXIT.noCredits,
  credits_not_synced: EXIT.noCredits,
  credits_busy: EXIT.noCredits,
  account_not_open: EXIT.noCredits,
  account_expired: EXIT.noCredits,
  no_tickets: EXIT.noCredits,
  recovery_needed: EXIT.noCredits,
  purchase_failed: EXIT.purchase,
  contract_error: EXIT.purchase,
  opening_failed: EXIT.purchase,
  prover_failed: EXIT.prover,
  crs_unavailable: EXIT.prover,
  proof_failed: EXIT.prover,
  backend_failed: EXIT.prover,
  attestation_failed: EXIT.attestation,
  e2ee_failed: EXIT.attestation,
  e2ee_unsupported: EXIT.attestation,
  e2ee_unknown: EXIT.attestation,
  server_rejected: EXIT.rejected,
  retries_exhausted: EXIT.rejected,
  ticket_reused: EXIT.rejected,
  ticket_in_use: EXIT.rejected,
  account_revoked: EXIT.rejected,
  invalid_today: EXIT.rejected,
  // v2 metered accounts
  insufficient_balance: EXIT.noCredits,
  lane_frozen: EXIT.noCredits,
  no_usable_lane: EXIT.noCredits,
  state_pending: EXIT.rejected,
  state_unavailable: EXIT.network,
  state_mismatch: EXIT.rejected,
  state_signature_invalid: EXIT.untrusted,
  state_refused: EXIT.untrusted,
  lane_busy: EXIT.noCredits,
  lane_stale: EXIT.noCredits,
  route_not_supported: EXIT.usage,
  doctor_failed: EXIT.doctor,
  aborted: EXIT.interrupted,
};

/** The exit code for an error: the table above for zkcredits errors, `internal` otherwise. */
export function exitCodeOf(error: unknown): number {
  if (isZkCreditsError(error)) return BY_CODE[error.code] ?? EXIT.internal;
  return EXIT.internal;
}

/** One short human message: the headline and details of a zkcredits error, or "unexpected" for a bug. */
export function describeError(error: unknown): { code: string; message: string; details?: string } {
  if (isZkCreditsError(error)) {
    return { code: error.code, message: error.shortMessage, ...(error.details ? { details: error.details } : {}) };
  }
  const message = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 300) : String(error).slice(0, 300);
  return { code: 'internal', message: `Unexpected error: ${message}` };
}
