/**
 * Where a client keeps its credits and v2 accounts. `CreditStore` is the contract (the CLI keeps an
 * encrypted vault file behind it, tests and short-lived scripts use `MemoryCreditStore`): records
 * are added durably *before* a purchase or an opening is sent, credits move
 * `pending → unspent → spent` and serve one request at a time through `reserve`/`release`, and
 * accounts hand out tickets through core's write-ahead journal (`AccountStore`), one writer per
 * account.
 */
import type { AccountStore, MeteredAccountStore } from '@zkcredits/core';
import {
  burnJournal,
  commitLaneIn,
  journalLaneIn,
  parseAccountRecord,
  parseMeteredRecord,
  patchAccount,
  patchMeteredAccount,
  settleTicketIn,
  takeTicketIn,
  type AccountPatch,
  type AccountRecord,
  type LanePending,
  type LaneSignedState,
  type MeteredAccountPatch,
  type MeteredAccountRecord,
  type TicketOutcome,
} from '@zkcredits/core/vault';
import { ClientError } from './errors.js';
import { belongsTo, type CreditRecord, type CreditStatus, type DeploymentRef } from './records.js';

/** The fields of a record that change after it was added. */
export type CreditPatch = Partial<Pick<CreditRecord, 'status' | 'spentAt' | 'txHash' | 'leafIndex' | 'archivedAt'>>;

export type ReserveQuery = {
  deployment: DeploymentRef;
  /** Only credits this approves (e.g. those already in the synced tree). */
  accept?(record: CreditRecord): boolean;
};

export interface CreditStore extends AccountStore, MeteredAccountStore {
  /** Every record, in the order they were added. */
  list(): Promise<readonly CreditRecord[]>;
  /** Adds new records; resolves only once they are stored durably (a purchase is sent after it). */
  add(records: readonly CreditRecord[]): Promise<void>;
  /** Changes a record; refuses a status change backwards (a spent credit never becomes unspent). */
  update(id: string, patch: CreditPatch): Promise<CreditRecord>;
  /**
   * Takes one `unspent` credit of the deployment that no live reservation holds and `accept`
   * approves, and holds it until `release(id)`; `undefined` when there is none. Atomic: two
   * concurrent calls never get the same credit (a store shared between processes must lock).
   */
  reserve(query: ReserveQuery): Promise<CreditRecord | undefined>;
  /** Ends a reservation (whatever the credit's status is now). */
  release(id: string): Promise<void>;
}

const NEXT: Record<CreditStatus, readonly CreditStatus[]> = {
  pending: ['pending', 'unspent', 'spent', 'abandoned'],
  // A purchase given up for lost can still turn up on chain.
  abandoned: ['abandoned', 'unspent', 'spent'],
  unspent: ['unspent', 'spent'],
  spent: ['spent'],
};

/** Whether a record may move from `from` to `to`. */
export function canMoveTo(from: CreditStatus, to: CreditStatus): boolean {
  return NEXT[from].includes(to);
}

/** Applies `patch` to `record`, checking the status change. */
export function patchRecord(record: CreditRecord, patch: CreditPatch): CreditRecord {
  if (patch.status && !canMoveTo(record.status, patch.status)) {
    throw new ClientError('store_failed', `a ${record.status} credit cannot become ${patch.status}`, { details: `credit ${record.id}` });
  }
  const next = { ...record };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) (next as Record<string, unknown>)[key] = value;
  return next;
}

/**
 * Runs each account's journal and status writes one after another (the per-account mutex of this
 * process; another process is kept out by the store's own lock, e.g. the CLI's vault lock).
 */
class AccountMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(id) ?? Promise.resolve()).then(fn);
    const tail = result.catch(() => undefined);
    this.#tails.set(id, tail);
    void tail.then(() => {
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    });
    return result;
  }
}

/**
 * Credits and accounts in memory only: for tests and scripts (everything, the master secret
 * included, is lost with the process). `initial` accounts are loaded as a new process finds them:
 * their in-flight tickets are burned.
 */
export class MemoryCreditStore implements CreditStore {
  readonly #records = new Map<string, CreditRecord>();
  readonly #reserved = new Set<string>();
  readonly #accounts = new Map<string, AccountRecord>();
  readonly #metered = new Map<string, MeteredAccountRecord>();
  readonly #mutex = new AccountMutex();
  #master: bigint | undefined;

  /**
   * `initial.metered` accounts are loaded as they were: their pending calls stay pending (their
   * states are asked for before the lanes are used again).
   */
  constructor(records: readonly CreditRecord[] = [], initial: { master?: bigint; accounts?: readonly AccountRecord[]; metered?: readonly MeteredAccountRecord[] } = {}) {
    for (const r of records) this.#records.set(r.id, { ...r });
    this.#master = initial.master;
    for (const a of initial.accounts ?? []) this.#accounts.set(a.id, burnJournal(parseAccountRecord(a)));
    for (const a of initial.metered ?? []) this.#metered.set(a.id, parseMeteredRecord(structuredClone(a)));
  }

  async list(): Promise<readonly CreditRecord[]> {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  async add(records: readonly CreditRecord[]): Promise<void> {
    const duplicate = records.find((r) => this.#records.has(r.id));
    if (duplicate) throw new ClientError('store_failed', 'a credit with this id is already stored', { details: duplicate.id });
    for (const r of records) this.#records.set(r.id, { ...r });
  }

  async update(id: string, patch: CreditPatch): Promise<CreditRecord> {
    const record = this.#records.get(id);
    if (!record) throw new ClientError('store_failed', 'no stored credit has this id', { details: id });
    const next = patchRecord(record, patch);
    this.#records.set(id, next);
    return { ...next };
  }

  async reserve(query: ReserveQuery): Promise<CreditRecord | undefined> {
    for (const r of this.#records.values()) {
      if (r.status !== 'unspent' || this.#reserved.has(r.id) || !belongsTo(r, query.deployment)) continue;
      if (query.accept && !query.accept({ ...r })) continue;
      this.#reserved.add(r.id);
      return { ...r };
    }
    return undefined;
  }

  async release(id: string): Promise<void> {
    this.#reserved.delete(id);
  }

  async masterSecret(): Promise<bigint> {
    if (this.#master === undefined) {
      const bytes = new Uint8Array(31);
      globalThis.crypto.getRandomValues(bytes);
      this.#master = BigInt(`0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`) || 1n;
    }
    return this.#master;
  }

  async listAccounts(): Promise<readonly AccountRecord[]> {
    return [...this.#accounts.values()].map(copyAccount);
  }

  async addAccounts(records: readonly AccountRecord[]): Promise<void> {
    const duplicate = records.find((r) => this.#accounts.has(r.id) || this.#metered.has(r.id));
    if (duplicate) throw new ClientError('store_failed', 'an account with this id is already stored', { details: duplicate.id });
    const parsed = records.map(parseAccountRecord);
    for (const r of parsed) this.#accounts.set(r.id, r);
  }

  updateAccount(id: string, patch: AccountPatch): Promise<AccountRecord> {
    return this.#mutex.run(id, async () => this.#put(patchAccount(this.#account(id), patch)));
  }

  takeTicket(id: string, digest: string, today?: number): Promise<{ ticket: number; account: AccountRecord }> {
    return this.#mutex.run(id, async () => {
      const { record, ticket } = takeTicketIn(this.#account(id), digest, today);
      return { ticket, account: this.#put(record) };
    });
  }

  settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<AccountRecord> {
    return this.#mutex.run(id, async () => this.#put(settleTicketIn(this.#account(id), ticket, outcome)));
  }

  async listMeteredAccounts(): Promise<readonly MeteredAccountRecord[]> {
    return [...this.#metered.values()].map((r) => structuredClone(r));
  }

  meteredAccount(id: string): Promise<MeteredAccountRecord> {
    return this.#mutex.run(id, async () => structuredClone(this.#meteredRecord(id)));
  }

  async addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<void> {
    const duplicate = records.find((r) => this.#accounts.has(r.id) || this.#metered.has(r.id));
    if (duplicate) throw new ClientError('store_failed', 'an account with this id is already stored', { details: duplicate.id });
    const parsed = records.map((r) => parseMeteredRecord(structuredClone(r)));
    for (const r of parsed) this.#metered.set(r.id, r);
  }

  updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<MeteredAccountRecord> {
    return this.#mutex.run(id, async () => this.#putMetered(patchMeteredAccount(this.#meteredRecord(id), patch)));
  }

  journalLane(id: string, lane: number, pending: LanePending): Promise<MeteredAccountRecord> {
    return this.#mutex.run(id, async () => this.#putMetered(journalLaneIn(this.#meteredRecord(id), lane, pending)));
  }

  commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<{ record: MeteredAccountRecord; committed: boolean }> {
    return this.#mutex.run(id, async () => {
      const { record, committed } = commitLaneIn(this.#meteredRecord(id), lane, nullifier, signed);
      return { record: this.#putMetered(record), committed };
    });
  }

  #meteredRecord(id: string): MeteredAccountRecord {
    const record = this.#metered.get(id);
    if (!record) throw new ClientError('store_failed', 'no stored metered account has this id', { details: id });
    return record;
  }

  #putMetered(record: MeteredAccountRecord): MeteredAccountRecord {
    this.#metered.set(record.id, record);
    return structuredClone(record);
  }

  #account(id: string): AccountRecord {
    const record = this.#accounts.get(id);
    if (!record) throw new ClientError('store_failed', 'no stored account has this id', { details: id });
    return record;
  }

  #put(record: AccountRecord): AccountRecord {
    this.#accounts.set(record.id, record);
    return copyAccount(record);
  }
}

function copyAccount(r: AccountRecord): AccountRecord {
  return { ...r, journal: r.journal.map((e) => ({ ...e })) };
}
