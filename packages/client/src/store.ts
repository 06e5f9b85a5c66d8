/**
 * Where a client keeps its credits. `CreditStore` is the contract (the CLI keeps an encrypted
 * vault file behind it, tests and short-lived scripts use `MemoryCreditStore`): records are added
 * durably *before* a purchase is sent, move `pending → unspent → spent`, and one credit serves one
 * request at a time through `reserve`/`release`.
 */
import { ClientError } from './errors.js';
import { belongsTo, type CreditRecord, type CreditStatus, type DeploymentRef } from './records.js';

/** The fields of a record that change after it was added. */
export type CreditPatch = Partial<Pick<CreditRecord, 'status' | 'spentAt' | 'txHash' | 'leafIndex' | 'archivedAt'>>;

export type ReserveQuery = {
  deployment: DeploymentRef;
  /** Only credits this approves (e.g. those already in the synced tree). */
  accept?(record: CreditRecord): boolean;
};

export interface CreditStore {
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

/** Credits in memory only: for tests and scripts (everything is lost with the process). */
export class MemoryCreditStore implements CreditStore {
  readonly #records = new Map<string, CreditRecord>();
  readonly #reserved = new Set<string>();

  constructor(records: readonly CreditRecord[] = []) {
    for (const r of records) this.#records.set(r.id, { ...r });
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
}
