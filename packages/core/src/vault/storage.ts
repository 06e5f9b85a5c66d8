import { VaultError } from '../errors.js';
import type { KdfParams, Sealed } from './crypto.js';

/** The vault's header, stored in the clear: its id, how its key is derived, and a sealed check value. */
export type VaultMeta = { id: string; version: 1; kdf: KdfParams; check: Sealed; createdAt: number };
/** One credit as stored: its id and its ciphertext (bound to the vault id and this id). */
export type StoredCredit = Sealed & { id: string };
/** One v2 account as stored: its record id and its ciphertext (bound to the vault id and this id). */
export type StoredAccount = Sealed & { id: string };
/**
 * Everything a vault stores. Nothing in it is readable without the passphrase. `master` (the
 * sealed master secret the account secrets derive from) and `accounts` are absent in vaults
 * without v2 accounts, as in every vault written before them.
 */
export type StoredVault = { meta: VaultMeta; credits: StoredCredit[]; master?: Sealed; accounts?: StoredAccount[] };

/**
 * Where a vault keeps its encrypted records: IndexedDB in the web app, a file for the CLI,
 * memory in tests. It holds only what `StoredVault` holds (never a key or a plaintext), and
 * each write is atomic: all of it lands, or none. What it returns is not trusted: the vault
 * checks every value it loads.
 */
export interface VaultStorage {
  /** Whether a vault is stored here. */
  exists(): Promise<boolean>;
  /** The stored vault, or undefined when there is none. */
  load(): Promise<StoredVault | undefined>;
  /**
   * Stores a new vault's header, with no credits. Atomically refuses when a vault is already
   * stored (a `VaultError` with code `vault_exists`), so two writers cannot both create one.
   */
  create(meta: VaultMeta): Promise<void>;
  /** Inserts or replaces these credits (by id), all or none. */
  put(credits: StoredCredit[]): Promise<void>;
  /**
   * Stores the vault's master secret unless one is stored already, atomically, and returns the
   * one stored: `master`, or the one another writer stored first (which then wins: the accounts
   * derived from it must stay derivable).
   */
  putMaster(master: Sealed): Promise<Sealed>;
  /** Inserts or replaces these accounts (by id), all or none. A ticket is taken by one such write. */
  putAccounts(accounts: StoredAccount[]): Promise<void>;
  /** One stored account as it is now (another writer may have changed it), or undefined. */
  loadAccount(id: string): Promise<StoredAccount | undefined>;
  /** Releases what the storage holds open (a database, a lock); called when the vault is locked. */
  close?(): void;
}

/** A `VaultStorage` in memory, for tests and short-lived tools. Values are copied in and out. */
export class MemoryVaultStorage implements VaultStorage {
  private meta: VaultMeta | undefined;
  private readonly credits = new Map<string, StoredCredit>();
  private master: Sealed | undefined;
  private readonly accounts = new Map<string, StoredAccount>();

  /** Starts empty, or with `initial` (e.g. rows read from another store). */
  constructor(initial?: StoredVault) {
    if (initial) {
      this.meta = structuredClone(initial.meta);
      for (const c of initial.credits) this.credits.set(c.id, structuredClone(c));
      if (initial.master) this.master = structuredClone(initial.master);
      for (const a of initial.accounts ?? []) this.accounts.set(a.id, structuredClone(a));
    }
  }

  async exists(): Promise<boolean> {
    return this.meta !== undefined;
  }

  async load(): Promise<StoredVault | undefined> {
    return this.dump();
  }

  async create(meta: VaultMeta): Promise<void> {
    if (this.meta) throw new VaultError('vault_exists', 'A vault already exists here. Unlock it instead.');
    this.meta = structuredClone(meta);
  }

  async put(credits: StoredCredit[]): Promise<void> {
    if (!this.meta) throw new VaultError('storage_failed', 'There is no vault to save to.');
    for (const c of credits) this.credits.set(c.id, structuredClone(c));
  }

  async putMaster(master: Sealed): Promise<Sealed> {
    if (!this.meta) throw new VaultError('storage_failed', 'There is no vault to save to.');
    this.master ??= structuredClone(master);
    return structuredClone(this.master);
  }

  async putAccounts(accounts: StoredAccount[]): Promise<void> {
    if (!this.meta) throw new VaultError('storage_failed', 'There is no vault to save to.');
    for (const a of accounts) this.accounts.set(a.id, structuredClone(a));
  }

  async loadAccount(id: string): Promise<StoredAccount | undefined> {
    const row = this.accounts.get(id);
    return row && structuredClone(row);
  }

  /**
   * A copy of everything stored (ciphertexts only), rows in id order; undefined when empty. A vault
   * without v2 accounts has no `master` or `accounts` keys, exactly as before they existed.
   */
  dump(): StoredVault | undefined {
    if (!this.meta) return undefined;
    const byId = <T extends { id: string }>(rows: Iterable<T>) => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return structuredClone({
      meta: this.meta,
      credits: byId(this.credits.values()),
      ...(this.master ? { master: this.master } : {}),
      ...(this.accounts.size > 0 ? { accounts: byId(this.accounts.values()) } : {}),
    });
  }
}
