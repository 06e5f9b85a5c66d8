import { ZkCreditsError } from '../errors.js';

/** Codes of protocol v2 metered accounts on the client side: the lane journal, the scheduler, state recovery. */
export type MeteredErrorCode =
  /** The account is not open (pending, abandoned or revoked). */
  | 'account_not_open'
  /** The account's expiry day has passed. */
  | 'account_expired'
  /** The account came from a backup and its lanes were not checked yet (`recoverMeteredAccounts`). */
  | 'recovery_needed'
  /** The lane has a call in flight for another request: its signed state must come back first. */
  | 'lane_busy'
  /** The lane continued in another copy of the account (found by recovery): never used from here. */
  | 'lane_stale'
  /** No lane can pay C_max now: every lane is frozen, stale, short of C_max, or waits for a state the server has not signed yet. */
  | 'no_usable_lane'
  /** The server has reserved the call but not signed its state yet (`GET /v2/zkcredits/state` answered 409): ask again later. */
  | 'state_pending'
  /** The state could not be fetched, or the server does not know the call (404 `unknown_nullifier`). */
  | 'state_unavailable'
  /** A signed state that is not the one of this call (another nullifier, a refund above C_max). */
  | 'state_mismatch'
  /** The signed state does not verify under the deployment's on-chain state key. */
  | 'state_signature_invalid'
  /** No lane of the account holds C_max (whatever is in flight comes back). */
  | 'insufficient_balance'
  /** Every lane with balance is frozen (penalties reached the stake). */
  | 'lane_frozen';

/** An error of protocol v2 metered accounts on the client side (lanes, the journal, signed states). */
export class MeteredError extends ZkCreditsError<MeteredErrorCode> {
  override name = 'MeteredError';
}
