/**
 * A `CreditStore` over the encrypted credential vault of `@zkcredits/core/vault` (the web app's
 * format: a backup made there imports here and back). The vault keeps the records, the master
 * secret and the accounts with their ticket journals (one writer per account in this process);
 * reservations live in this process. Two processes sharing one vault file must also share a lock
 * around it (the CLI holds a file lock), or they could pick the same credit or ticket.
 */
import type { AccountPatch, AccountRecord, LanePending, LaneSignedState, MeteredAccountPatch, MeteredAccountRecord, TicketOutcome, Vault } from '@zkcredits/core/vault';
import { ClientError, briefly } from './errors.js';
import { belongsTo, type CreditRecord } from './records.js';
import { patchRecord, type CreditPatch, type CreditStore, type ReserveQuery } from './store.js';

export class VaultCreditStore implements CreditStore {
  readonly #reserved = new Set<string>();

  /** `vault` must be unlocked; locking it makes every call fail until it is unlocked again. */
  constructor(private readonly vault: Vault) {}

  async list(): Promise<readonly CreditRecord[]> {
    return this.vault.list();
  }

  async add(records: readonly CreditRecord[]): Promise<void> {
    await this.vault.add([...records]);
  }

  async update(id: string, patch: CreditPatch): Promise<CreditRecord> {
    const current = this.vault.get(id);
    if (!current) throw new ClientError('store_failed', 'no stored credit has this id', { details: id });
    const next = patchRecord(current, patch); // refuses a status change backwards
    const changes: CreditPatch = {};
    for (const key of Object.keys(patch) as (keyof CreditPatch)[]) if (patch[key] !== undefined) Object.assign(changes, { [key]: next[key] });
    try {
      return await this.vault.update(id, changes);
    } catch (cause) {
      throw new ClientError('store_failed', 'The vault could not save a credit.', { details: briefly(cause), cause });
    }
  }

  async reserve(query: ReserveQuery): Promise<CreditRecord | undefined> {
    // Synchronous from list to mark: two concurrent calls never get the same credit.
    for (const r of this.vault.list()) {
      if (r.status !== 'unspent' || this.#reserved.has(r.id) || !belongsTo(r, query.deployment)) continue;
      if (query.accept && !query.accept(r)) continue;
      this.#reserved.add(r.id);
      return r;
    }
    return undefined;
  }

  async release(id: string): Promise<void> {
    this.#reserved.delete(id);
  }

  masterSecret(): Promise<bigint> {
    return this.vault.masterSecret();
  }

  listAccounts(): Promise<readonly AccountRecord[]> {
    return this.vault.listAccounts();
  }

  addAccounts(records: readonly AccountRecord[]): Promise<void> {
    return this.vault.addAccounts(records);
  }

  updateAccount(id: string, patch: AccountPatch): Promise<AccountRecord> {
    return this.vault.updateAccount(id, patch);
  }

  takeTicket(id: string, digest: string, today?: number): Promise<{ ticket: number; account: AccountRecord }> {
    return this.vault.takeTicket(id, digest, today);
  }

  settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<AccountRecord> {
    return this.vault.settleTicket(id, ticket, outcome);
  }

  listMeteredAccounts(): Promise<readonly MeteredAccountRecord[]> {
    return this.vault.listMeteredAccounts();
  }

  meteredAccount(id: string): Promise<MeteredAccountRecord> {
    return this.vault.meteredAccount(id);
  }

  addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<void> {
    return this.vault.addMeteredAccounts(records);
  }

  updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<MeteredAccountRecord> {
    return this.vault.updateMeteredAccount(id, patch);
  }

  journalLane(id: string, lane: number, pending: LanePending): Promise<MeteredAccountRecord> {
    return this.vault.journalLane(id, lane, pending);
  }

  commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<{ record: MeteredAccountRecord; committed: boolean }> {
    return this.vault.commitLane(id, lane, nullifier, signed);
  }
}
