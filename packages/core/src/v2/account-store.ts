import type { AccountPatch, AccountRecord, TicketOutcome } from '../vault/account-record.js';

/**
 * Where a client keeps its v2 accounts: the vault (`Vault` implements this), or the SDK's stores.
 * Every method resolves only once its change is stored durably. Ticket moves follow the journal
 * transitions of `@zkcredits/core/vault` (`takeTicketIn`, `settleTicketIn`, `burnJournal`), and
 * the journal writes of one account are serialised (one writer per account).
 */
export interface AccountStore {
  /** The master secret every account secret derives from, made and stored on first call. */
  masterSecret(): Promise<bigint>;
  /** Every account record. */
  listAccounts(): Promise<readonly AccountRecord[]>;
  /** Adds new records (all or none), e.g. `pending` accounts right before their opening is sent. */
  addAccounts(records: readonly AccountRecord[]): Promise<void>;
  /** Changes an account's status or terms (never backwards; `nextTicket` only moves forward). */
  updateAccount(id: string, patch: AccountPatch): Promise<AccountRecord>;
  /** Journals the next ticket for the request with digest `digest` (hex) and advances the counter. */
  takeTicket(id: string, digest: string, today?: number): Promise<{ ticket: number; account: AccountRecord }>;
  /** Removes a taken ticket's journal entry (`served` or `burned`). */
  settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<AccountRecord>;
}
