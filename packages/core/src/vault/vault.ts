import { VaultError, isZkCreditsError } from '../errors.js';
import { bytesToBigInt, toFieldHex } from '../field.js';
import {
  accountRecord,
  burnJournal,
  fromBackup,
  mergeAccountRecords,
  parseAccountRecord,
  patchAccount,
  settleTicketIn,
  takeTicketIn,
  type AccountPatch,
  type AccountRecord,
  type TicketOutcome,
} from './account-record.js';
import { masterValue, readBackupContents, storedAccount, storedCredit, vaultMeta, writeBackup, type BackupContents } from './backup.js';
import {
  commitLaneIn,
  journalLaneIn,
  meteredAccountRecord,
  meteredFromBackup,
  mergeMeteredRecords,
  parseMeteredRecord,
  patchMeteredAccount,
  type LanePending,
  type LaneSignedState,
  type MeteredAccountPatch,
  type MeteredAccountRecord,
} from './metered-record.js';
import { accountAad, checkAad, creditAad, deriveKey, masterAad, newId, newKdfParams, open, randomBytes, seal, type Sealed } from './crypto.js';
import { countCredits, creditRecord, mergeRecords, type CreditCounts, type CreditPatch, type CreditRecord } from './record.js';
import { MemoryVaultStorage, type StoredAccount, type StoredCredit, type VaultMeta, type VaultStorage } from './storage.js';

/** How a backup's accounts are taken in (`restore`, `importBackup`). */
export type BackupImportOptions = {
  /**
   * The file's account counters were recovered just now (e.g. the file was restored into a vault in
   * memory and `recoverAccounts` ran there): its accounts are usable at once. Default false: they
   * are `recoveryNeeded`.
   */
  recovered?: boolean;
};

/** What `importBackup` changed: credits, v2 flat accounts, and v2 metered accounts. */
export type ImportResult = {
  added: number;
  updated: number;
  accounts: { added: number; updated: number };
  /** Metered accounts (only for a backup that holds some: version 3). */
  metered?: { added: number; updated: number };
};

/** Shortest passphrase a new vault accepts. */
export const MIN_PASSPHRASE_LENGTH = 10;

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new VaultError('weak_passphrase', `Use a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`);
  }
}

/** Runs a storage call; its own failures become `storage_failed` (a `VaultError` it threw passes through). */
async function store<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (isZkCreditsError(cause)) throw cause;
    throw new VaultError('storage_failed', `Could not ${what} the vault’s storage.`, {
      details: cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 200) : undefined,
      cause,
    });
  }
}

/** The v2 part of an opened vault: the master secret (once made) and the account records (flat and metered, one row store). */
type V2State = {
  master: { value: bigint; sealed: Sealed } | undefined;
  accounts: Map<string, AccountRecord>;
  metered: Map<string, MeteredAccountRecord>;
  /** The stored row of every account, flat or metered. */
  sealedAccounts: Map<string, StoredAccount>;
};

/** Any account record the vault stores. */
type AnyAccount = AccountRecord | MeteredAccountRecord;

const emptyV2 = (): V2State => ({ master: undefined, accounts: new Map(), metered: new Map(), sealedAccounts: new Map() });

/**
 * The credential vault: every credit and v2 account encrypted at rest under a key derived from
 * the user's passphrase (see `crypto.ts`), kept in a `VaultStorage`. The key and the plaintext
 * records live only in this object's memory, until `lock()`. Once created or unlocked, the vault
 * owns its storage: `lock()` closes it. Every write goes to the storage first, then to memory, so
 * a failed write changes nothing.
 *
 * v2 accounts: one master secret per vault (31 random bytes, made on first need) from which every
 * account secret derives, and one record per account with its ticket counter and write-ahead
 * journal (`takeTicket` / `settleTicket`). Journal writes of one account are serialised in this
 * object and read the stored record first; across processes or tabs, hold the account's lock (the
 * CLI's vault lock, Web Locks) around them.
 */
export class Vault {
  private locked = false;
  private readonly queues = new Map<string, Promise<unknown>>();
  private masterPending: Promise<bigint> | undefined;

  private constructor(
    private readonly storage: VaultStorage,
    private readonly meta: VaultMeta,
    private readonly key: CryptoKey,
    private readonly credits: Map<string, CreditRecord>,
    private readonly sealed: Map<string, StoredCredit>,
    private readonly v2: V2State = emptyV2(),
  ) {}

  /** Whether `storage` already holds a vault. */
  static async exists(storage: VaultStorage): Promise<boolean> {
    return store('read', () => storage.exists());
  }

  /** Creates an empty vault in `storage`, protected by `passphrase`; `vault_exists` when one is there. */
  static async create(storage: VaultStorage, passphrase: string): Promise<Vault> {
    checkPassphrase(passphrase);
    const id = newId();
    const kdf = newKdfParams();
    const key = await deriveKey(passphrase, kdf);
    const meta: VaultMeta = { id, version: 1, kdf, check: await seal(key, checkAad(id), { vault: id }), createdAt: Date.now() };
    await store('write', () => storage.create(meta));
    return new Vault(storage, meta, key, new Map(), new Map());
  }

  /**
   * Opens the vault in `storage`. A wrong passphrase fails with `wrong_passphrase`, a stored vault
   * that cannot be read with `vault_corrupt`; neither changes anything.
   */
  static async unlock(storage: VaultStorage, passphrase: string): Promise<Vault> {
    const stored = await store('read', () => storage.load());
    if (!stored) throw new VaultError('vault_missing', 'There is no vault here yet.');
    const meta = vaultMeta.safeParse(stored.meta);
    if (!meta.success) throw new VaultError('vault_corrupt', 'The vault is damaged: its header cannot be read.', { details: issueText(meta.error.issues[0]) });
    const key = await deriveKey(passphrase, meta.data.kdf);
    if (!(await open(key, checkAad(meta.data.id), meta.data.check))) {
      throw new VaultError('wrong_passphrase', 'That passphrase does not unlock this vault.');
    }
    const credits = new Map<string, CreditRecord>();
    const sealed = new Map<string, StoredCredit>();
    for (const raw of stored.credits) {
      const row = storedCredit.safeParse(raw);
      if (!row.success) throw new VaultError('vault_corrupt', 'The vault is damaged: a stored credit is malformed.', { details: issueText(row.error.issues[0]) });
      const opened = await open(key, creditAad(meta.data.id, row.data.id), row.data);
      if (!opened) throw new VaultError('vault_corrupt', 'The vault is damaged: a credit could not be decrypted.', { details: `credit ${row.data.id}` });
      const record = creditRecord.safeParse(opened.value);
      if (!record.success || record.data.id !== row.data.id) {
        throw new VaultError('vault_corrupt', 'The vault is damaged: a credit is malformed.', { details: `credit ${row.data.id}` });
      }
      credits.set(record.data.id, record.data);
      sealed.set(row.data.id, { id: row.data.id, iv: row.data.iv, ct: row.data.ct });
    }
    const v2 = emptyV2();
    if (stored.master) v2.master = { value: await openMaster(key, meta.data.id, stored.master), sealed: stored.master };
    for (const raw of stored.accounts ?? []) {
      const row = storedAccount.safeParse(raw);
      if (!row.success) throw new VaultError('vault_corrupt', 'The vault is damaged: a stored account is malformed.', { details: issueText(row.error.issues[0]) });
      const record = await openAccount(key, meta.data.id, row.data);
      if (record.kind === 'metered') v2.metered.set(record.id, record);
      else v2.accounts.set(record.id, record);
      v2.sealedAccounts.set(row.data.id, { id: row.data.id, iv: row.data.iv, ct: row.data.ct });
    }
    const vault = new Vault(storage, meta.data, key, credits, sealed, v2);
    // Tickets in flight when the last process ended: their bodies are gone, so they are burned.
    // Metered calls in flight are kept: their states are asked for (`GET /v2/zkcredits/state`) before the lane is used again.
    await vault.putAccounts([...v2.accounts.values()].filter((a) => a.journal.length > 0).map(burnJournal));
    return vault;
  }

  /**
   * Creates a vault in `storage` from a backup file: the backup's passphrase becomes the vault's.
   * Nothing is written unless the whole file checks out. Accounts' in-flight tickets are burned,
   * and open accounts are `recoveryNeeded` (no ticket is taken until `recoverAccounts` has brought
   * their counters up to date) unless `options.recovered` says the file's counters were just
   * recovered.
   */
  static async restore(storage: VaultStorage, text: string, passphrase: string, options: BackupImportOptions = {}): Promise<Vault> {
    const contents = await readBackupContents(text, passphrase);
    const vault = await Vault.create(storage, passphrase);
    await vault.putAll(contents.credits);
    if (contents.master) await vault.adoptMaster(BigInt(contents.master));
    await vault.putAccounts([...contents.accounts.map((a) => fromBackup(a, options.recovered)), ...(contents.metered ?? []).map((a) => meteredFromBackup(a, options.recovered))]);
    return vault;
  }

  get id(): string {
    return this.meta.id;
  }

  /** Every credit, oldest first. */
  list(): CreditRecord[] {
    return [...this.credits.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  counts(): CreditCounts {
    return countCredits(this.credits.values());
  }

  get(id: string): CreditRecord | undefined {
    return this.credits.get(id);
  }

  /** Saves new credits (all or none), e.g. pending credits right before a purchase is sent. */
  async add(records: CreditRecord[]): Promise<void> {
    await this.putAll(records.map(parseRecord));
  }

  /** Updates one credit; `credit_not_found` when it is not in the vault. */
  async update(id: string, patch: CreditPatch): Promise<CreditRecord> {
    const current = this.credits.get(id);
    if (!current) throw new VaultError('credit_not_found', 'That credit is not in the vault.', { details: `id ${id}` });
    const next = parseRecord({ ...current, ...patch });
    await this.putAll([next]);
    return next;
  }

  /**
   * Archives credits (e.g. from a chain that was reset): they stay in the vault and its
   * backups, but are no longer counted or used. All or none are saved. Returns how many.
   */
  async archive(ids: string[]): Promise<number> {
    const now = Date.now();
    const records = [...new Set(ids)].map((id) => this.credits.get(id)).filter((r): r is CreditRecord => r !== undefined && r.archivedAt === undefined);
    await this.putAll(records.map((r) => ({ ...r, archivedAt: now })));
    return records.length;
  }

  /**
   * The vault as a backup file (`backup.ts`): the same ciphertexts, readable only with the
   * passphrase. With v2 accounts or a master secret it is a version 2 file holding both.
   */
  exportBackup(): string {
    this.assertUnlocked();
    const rows = byId(this.v2.sealedAccounts.values());
    return writeBackup(this.meta, byId(this.sealed.values()), {
      master: this.v2.master?.sealed,
      accounts: rows.filter((r) => this.v2.accounts.has(r.id)),
      metered: rows.filter((r) => this.v2.metered.has(r.id)),
    });
  }

  /**
   * The vault as a backup file readable with another passphrase (e.g. a vault whose key lives in
   * a keychain): everything re-encrypted, the master secret and accounts included.
   */
  async exportBackupAs(passphrase: string): Promise<string> {
    this.assertUnlocked();
    const copy = await Vault.create(new MemoryVaultStorage(), passphrase);
    try {
      await copy.putAll(this.list());
      if (this.v2.master) await copy.adoptMaster(this.v2.master.value);
      await copy.putAccounts([...this.accounts(), ...this.meteredAccounts()]);
      return copy.exportBackup();
    } finally {
      copy.lock();
    }
  }

  /**
   * Merges a backup into this vault. A damaged file or a wrong passphrase throws and changes
   * nothing. Credits already here are merged (the most advanced status wins); so are accounts
   * (by account id: the larger ticket counter wins, the backup's in-flight tickets are burned).
   * A backup's master secret is adopted when this vault has none; otherwise its accounts keep
   * working through their own secrets. New open accounts, and accounts the backup shows ahead of
   * this vault, are `recoveryNeeded` unless `options.recovered` (as in `restore`).
   */
  async importBackup(text: string, passphrase: string, options: BackupImportOptions = {}): Promise<ImportResult> {
    this.assertUnlocked();
    const contents = await readBackupContents(text, passphrase);
    const { added, updated } = await this.mergeCredits(contents.credits);
    const accounts = await this.mergeAccounts(contents, options.recovered ?? false);
    if (!contents.metered) return { added, updated, accounts };
    return { added, updated, accounts, metered: await this.mergeMetered(contents.metered, options.recovered ?? false) };
  }

  private async mergeMetered(incoming: readonly MeteredAccountRecord[], recovered: boolean): Promise<{ added: number; updated: number }> {
    return this.mergeRecords(incoming, this.v2.metered.values(), recovered, {
      fromBackup: meteredFromBackup,
      stored: (id) => this.freshMetered(id),
      merge: mergeMeteredRecords,
    });
  }

  private async mergeAccounts(contents: BackupContents, recovered: boolean): Promise<{ added: number; updated: number }> {
    if (contents.master && !this.v2.master) await this.adoptMaster(BigInt(contents.master));
    return this.mergeRecords(contents.accounts, this.v2.accounts.values(), recovered, {
      fromBackup,
      stored: (id) => this.freshAccount(id),
      merge: mergeAccountRecords,
    });
  }

  /**
   * Merges a backup's records of one kind by account id: a new account is added (under a fresh
   * record id if its own is taken); a known one is merged into the record as stored now, after any
   * journal write in flight, and marked `recoveryNeeded` unless `recovered`.
   */
  private async mergeRecords<R extends AccountRecord | MeteredAccountRecord>(
    incoming: readonly R[],
    stored: Iterable<R>,
    recovered: boolean,
    kind: { fromBackup: (record: R, recovered: boolean) => R; stored: (id: string) => Promise<R>; merge: (current: R, incoming: R) => R },
  ): Promise<{ added: number; updated: number }> {
    const byAccount = new Map([...stored].map((a) => [a.accountId, a]));
    const fresh: R[] = [];
    let updated = 0;
    for (const record of incoming) {
      const existing = byAccount.get(record.accountId);
      if (!existing) {
        const taken = this.v2.sealedAccounts.has(record.id) || fresh.some((f) => f.id === record.id);
        const copy = kind.fromBackup({ ...record, id: taken ? newId() : record.id }, recovered);
        fresh.push(copy);
        byAccount.set(copy.accountId, copy);
        continue;
      }
      const changed = await this.serial(existing.id, async () => {
        const current = await kind.stored(existing.id);
        const merged = kind.merge(current, recovered ? record : { ...record, recoveryNeeded: true });
        if (JSON.stringify(merged) === JSON.stringify(current)) return false;
        await this.putAccounts([merged]);
        return true;
      });
      if (changed) updated++;
    }
    await this.putAccounts(fresh);
    return { added: fresh.length, updated };
  }

  private async mergeCredits(incoming: CreditRecord[]): Promise<{ added: number; updated: number }> {
    const byCommitment = new Map([...this.credits.values()].map((r) => [r.commitment, r]));
    const writes: CreditRecord[] = [];
    let added = 0;
    let updated = 0;
    for (const record of incoming) {
      const existing = byCommitment.get(record.commitment);
      if (!existing) {
        const fresh = { ...record, id: this.credits.has(record.id) ? newId() : record.id };
        writes.push(fresh);
        byCommitment.set(fresh.commitment, fresh);
        added++;
      } else {
        // Parsed again: the schema's key order, so an unchanged credit compares equal.
        const merged = parseRecord(mergeRecords(existing, record));
        if (JSON.stringify(merged) !== JSON.stringify(existing)) {
          writes.push(merged);
          byCommitment.set(merged.commitment, merged);
          updated++;
        }
      }
    }
    await this.putAll(writes);
    return { added, updated };
  }

  // ------------------------------------------------------------------ v2 accounts

  /** Whether the vault has made (or imported) its master secret yet. */
  get hasMaster(): boolean {
    return this.v2.master !== undefined;
  }

  /**
   * The vault's master secret (31 random bytes), made and stored on first need. When another
   * writer stored one first, that one is adopted: accounts are only ever derived from the stored one.
   */
  async masterSecret(): Promise<bigint> {
    this.assertUnlocked();
    if (this.v2.master) return this.v2.master.value;
    this.masterPending ??= this.adoptMaster(bytesToBigInt(randomBytes(31)) || 1n).finally(() => (this.masterPending = undefined));
    return this.masterPending;
  }

  /** Stores `value` as the master unless one is stored; keeps (and returns) the stored one. */
  private async adoptMaster(value: bigint): Promise<bigint> {
    this.assertUnlocked();
    const sealed = await seal(this.key, masterAad(this.meta.id), { master: toFieldHex(value) });
    const stored = await store('write', () => this.storage.putMaster(sealed));
    const winner = stored.iv === sealed.iv && stored.ct === sealed.ct ? value : await openMaster(this.key, this.meta.id, stored);
    this.v2.master = { value: winner, sealed: { iv: stored.iv, ct: stored.ct } };
    return winner;
  }

  /** Every v2 account record, oldest first. */
  accounts(): AccountRecord[] {
    return [...this.v2.accounts.values()].sort((a, b) => a.createdAt - b.createdAt || a.index - b.index || a.id.localeCompare(b.id));
  }

  /** `accounts()` as a promise (the `AccountStore` interface). */
  async listAccounts(): Promise<readonly AccountRecord[]> {
    this.assertUnlocked();
    return this.accounts();
  }

  getAccount(id: string): AccountRecord | undefined {
    return this.v2.accounts.get(id);
  }

  /** Saves new account records (all or none), e.g. a `pending` account right before its opening is sent. */
  async addAccounts(records: readonly AccountRecord[]): Promise<void> {
    const duplicate = records.find((r) => this.v2.sealedAccounts.has(r.id));
    if (duplicate) throw new VaultError('invalid_account', 'An account with this record id is already in the vault.', { details: duplicate.id });
    await this.putAccounts(records.map(parseAccountRecord));
  }

  /** Updates one account's status or terms (never backwards); `account_not_found` when it is not here. */
  async updateAccount(id: string, patch: AccountPatch): Promise<AccountRecord> {
    return this.serial(id, async () => {
      const next = patchAccount(await this.freshAccount(id), patch);
      await this.putAccounts([next]);
      return next;
    });
  }

  /**
   * Takes the next ticket of an open account for the request whose digest is `digest` (hex): the
   * journal entry and the advanced counter are stored before this returns, so before anything is
   * sent. `today` refuses an expired account. Errors: `AccountError` (`account_not_open`,
   * `account_expired`, `no_tickets`), `VaultError` (`account_not_found`, `storage_failed`).
   */
  async takeTicket(id: string, digest: string, today?: number): Promise<{ ticket: number; account: AccountRecord }> {
    return this.serial(id, async () => {
      const { record, ticket } = takeTicketIn(await this.freshAccount(id), digest, today);
      await this.putAccounts([record]);
      return { ticket, account: record };
    });
  }

  /** Settles a taken ticket (`served` or `burned`): its journal entry is removed, durably. */
  async settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<AccountRecord> {
    return this.serial(id, async () => {
      const current = await this.freshAccount(id);
      const next = settleTicketIn(current, ticket, outcome);
      if (next !== current) await this.putAccounts([next]);
      return next;
    });
  }

  // ------------------------------------------------------------------ v2 metered accounts

  /** Every v2 metered account record, oldest first. */
  meteredAccounts(): MeteredAccountRecord[] {
    return [...this.v2.metered.values()].sort((a, b) => a.createdAt - b.createdAt || a.index - b.index || a.id.localeCompare(b.id));
  }

  /** `meteredAccounts()` as a promise (the `MeteredAccountStore` interface). */
  async listMeteredAccounts(): Promise<readonly MeteredAccountRecord[]> {
    this.assertUnlocked();
    return this.meteredAccounts();
  }

  getMeteredAccount(id: string): MeteredAccountRecord | undefined {
    return this.v2.metered.get(id);
  }

  /** The metered account as stored now (`account_not_found` when it is not here). */
  meteredAccount(id: string): Promise<MeteredAccountRecord> {
    return this.serial(id, () => this.freshMetered(id));
  }

  /** Saves new metered account records (all or none), e.g. a `pending` account right before its opening is sent. */
  async addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<void> {
    const duplicate = records.find((r) => this.v2.sealedAccounts.has(r.id));
    if (duplicate) throw new VaultError('invalid_account', 'An account with this record id is already in the vault.', { details: duplicate.id });
    await this.putAccounts(records.map(parseMeteredRecord));
  }

  /** Updates one metered account's status, terms or recovery flags (never backwards). */
  async updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<MeteredAccountRecord> {
    return this.serial(id, async () => {
      const next = patchMeteredAccount(await this.freshMetered(id), patch);
      await this.putAccounts([next]);
      return next;
    });
  }

  /**
   * Journals a call on lane `lane` (its nullifier, request hash and the opening of the commitment it
   * proves), durably, before the request is sent. Errors: `MeteredError` (`account_not_open`,
   * `recovery_needed`, `lane_busy`, `lane_stale`), `VaultError` (`account_not_found`, `storage_failed`).
   */
  async journalLane(id: string, lane: number, pending: LanePending): Promise<MeteredAccountRecord> {
    return this.serial(id, async () => {
      const next = journalLaneIn(await this.freshMetered(id), lane, pending);
      await this.putAccounts([next]);
      return next;
    });
  }

  /**
   * Commits a signed state (already verified under the on-chain key) for the pending call with
   * `nullifier` on lane `lane`: it becomes the lane's state, durably. A lane whose pending call is
   * not this one is left as it is (`committed: false`).
   */
  async commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<{ record: MeteredAccountRecord; committed: boolean }> {
    return this.serial(id, async () => {
      const result = commitLaneIn(await this.freshMetered(id), lane, nullifier, signed);
      if (result.committed) await this.putAccounts([result.record]);
      return result;
    });
  }

  /** Runs `fn` after every earlier journal or status write of account `id` in this vault. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => {
      if (this.queues.get(id) === tail) this.queues.delete(id);
    });
    return run;
  }

  /** The flat account as stored now (another writer holding the account's lock may have moved it on). */
  private async freshAccount(id: string): Promise<AccountRecord> {
    await this.reloadRow(id);
    const current = this.v2.accounts.get(id);
    if (!current) throw new VaultError('account_not_found', 'That account is not in the vault.', { details: `account record ${id}` });
    return current;
  }

  /** The metered account as stored now. */
  private async freshMetered(id: string): Promise<MeteredAccountRecord> {
    await this.reloadRow(id);
    const current = this.v2.metered.get(id);
    if (!current) throw new VaultError('account_not_found', 'That metered account is not in the vault.', { details: `account record ${id}` });
    return current;
  }

  /** Reads account row `id` again when storage holds another ciphertext than this object last saw. */
  private async reloadRow(id: string): Promise<void> {
    this.assertUnlocked();
    const row = await store('read', () => this.storage.loadAccount(id));
    const known = this.v2.sealedAccounts.get(id);
    if (!row || (known && row.iv === known.iv && row.ct === known.ct)) return;
    const parsed = storedAccount.safeParse(row);
    if (!parsed.success) throw new VaultError('vault_corrupt', 'The vault is damaged: a stored account is malformed.', { details: issueText(parsed.error.issues[0]) });
    this.remember(await openAccount(this.key, this.meta.id, parsed.data), { id, iv: parsed.data.iv, ct: parsed.data.ct });
  }

  private remember(record: AnyAccount, row: StoredAccount): void {
    if (record.kind === 'metered') this.v2.metered.set(record.id, record);
    else this.v2.accounts.set(record.id, record);
    this.v2.sealedAccounts.set(record.id, row);
  }

  private async putAccounts(records: readonly AnyAccount[]): Promise<void> {
    this.assertUnlocked();
    if (records.length === 0) return;
    const rows = await Promise.all(records.map(async (r) => ({ id: r.id, ...(await seal(this.key, accountAad(this.meta.id, r.id), r)) })));
    await store('write', () => this.storage.putAccounts(rows));
    for (const [i, r] of records.entries()) this.remember(r, rows[i]!);
  }

  /** Forgets the key and the records, and closes the storage; the vault must be unlocked again. */
  lock(): void {
    if (this.locked) return;
    this.locked = true;
    this.credits.clear();
    this.sealed.clear();
    this.v2.master = undefined;
    this.v2.accounts.clear();
    this.v2.metered.clear();
    this.v2.sealedAccounts.clear();
    this.storage.close?.();
  }

  private assertUnlocked(): void {
    if (this.locked) throw new VaultError('vault_locked', 'The vault is locked. Unlock it again.');
  }

  private async putAll(records: CreditRecord[]): Promise<void> {
    this.assertUnlocked();
    if (records.length === 0) return;
    const rows = await Promise.all(records.map(async (r) => ({ id: r.id, ...(await seal(this.key, creditAad(this.meta.id, r.id), r)) })));
    await store('write', () => this.storage.put(rows));
    for (const [i, r] of records.entries()) {
      this.credits.set(r.id, r);
      this.sealed.set(r.id, rows[i]!);
    }
  }
}

function byId<T extends { id: string }>(rows: Iterable<T>): T[] {
  return [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function openMaster(key: CryptoKey, vault: string, sealed: Sealed): Promise<bigint> {
  const opened = await open(key, masterAad(vault), sealed);
  const value = opened && masterValue.safeParse(opened.value);
  if (!value?.success) throw new VaultError('vault_corrupt', 'The vault is damaged: its master secret could not be read.');
  return BigInt(value.data.master);
}

async function openAccount(key: CryptoKey, vault: string, row: StoredAccount): Promise<AnyAccount> {
  const opened = await open(key, accountAad(vault, row.id), row);
  if (!opened) throw new VaultError('vault_corrupt', 'The vault is damaged: an account could not be decrypted.', { details: `account ${row.id}` });
  const metered = (opened.value as { kind?: unknown } | null)?.kind === 'metered';
  const record = (metered ? meteredAccountRecord : accountRecord).safeParse(opened.value);
  if (!record.success || record.data.id !== row.id) throw new VaultError('vault_corrupt', 'The vault is damaged: an account is malformed.', { details: `account ${row.id}` });
  return record.data;
}

function parseRecord(value: unknown): CreditRecord {
  const parsed = creditRecord.safeParse(value);
  if (!parsed.success) throw new VaultError('invalid_credit', 'That is not a valid credit record.', { details: issueText(parsed.error.issues[0]) });
  return parsed.data;
}

/** Where and what, never the value (it may be a secret). */
function issueText(issue: { path: PropertyKey[]; message: string } | undefined): string | undefined {
  return issue ? `${issue.path.map(String).join('.') || '(value)'}: ${issue.message}` : undefined;
}
