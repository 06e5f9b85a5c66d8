import type { LanePending, LaneSignedState, MeteredAccountPatch, MeteredAccountRecord } from '../vault/metered-record.js';

/**
 * Where a client keeps its metered accounts: the vault (`Vault` implements this), or the SDK's
 * stores. Every method resolves only once its change is stored durably. Lane moves follow the
 * journal transitions of `@zkcredits/core/vault` (`journalLaneIn`, `commitLaneIn`), and the writes
 * of one account are serialised (one writer per account: across processes the store's own lock,
 * e.g. the CLI's vault lock or the web app's Web Locks, keeps a second writer out).
 */
export interface MeteredAccountStore {
  /** Every metered account record. */
  listMeteredAccounts(): Promise<readonly MeteredAccountRecord[]>;
  /** One metered account as stored now (`account_not_found` otherwise). */
  meteredAccount(id: string): Promise<MeteredAccountRecord>;
  /** Adds new records (all or none), e.g. `pending` accounts right before their opening is sent. */
  addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<void>;
  /** Changes an account's status, terms or recovery flags (never backwards). */
  updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<MeteredAccountRecord>;
  /** Journals a call on a lane before its request is sent (`journalLaneIn`). */
  journalLane(id: string, lane: number, pending: LanePending): Promise<MeteredAccountRecord>;
  /** Makes a verified signed state the lane's state (`commitLaneIn`). */
  commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<{ record: MeteredAccountRecord; committed: boolean }>;
}
