import { isZkCreditsError } from '@zkcredits/core';
import type { AccountStore, LanePending, MeteredAccountPatch, MeteredAccountRecord, MeteredAccountStore } from '@zkcredits/core';
import {
  Vault as CoreVault,
  readBackup as coreReadBackup,
  type AccountPatch,
  type AccountRecord,
  type CreditCounts,
  type CreditPatch,
  type CreditRecord,
  type ImportResult,
  type LaneSignedState,
  type TicketOutcome,
  type VaultErrorCode,
} from '@zkcredits/core/vault';
import { AppError } from '../errors';
import { IndexedDbVaultStorage, type VaultAppState } from './indexeddb';
import { hasWebLocks, withVaultLock } from './locks';

/**
 * Every code of core's `VaultError` (all are `AppErrorCode`s too), with the app's words where a
 * browser calls for other words than core's.
 */
const BROWSER_MESSAGES: Record<VaultErrorCode, string | undefined> = {
  vault_missing: 'There is no vault in this browser yet.',
  vault_exists: undefined, // IndexedDbVaultStorage words it
  storage_failed: undefined, // IndexedDbVaultStorage words it
  vault_locked: undefined,
  vault_corrupt: undefined,
  wrong_passphrase: undefined,
  weak_passphrase: undefined,
  invalid_credit: undefined,
  credit_not_found: undefined,
  invalid_account: undefined,
  account_not_found: undefined,
  backup_invalid: undefined,
  backup_unsupported_version: undefined,
  backup_wrong_passphrase: undefined,
};

/** Core's `VaultError` as the app's `AppError`: same code and details, the UI's words. */
function asAppError(error: unknown): unknown {
  if (!isZkCreditsError(error) || error.name !== 'VaultError' || !Object.hasOwn(BROWSER_MESSAGES, error.code)) return error;
  const code = error.code as VaultErrorCode;
  return new AppError(code, BROWSER_MESSAGES[code] ?? error.shortMessage, { details: error.details, cause: error });
}

async function app<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw asAppError(error);
  }
}

/** Opens this browser's vault storage for `fn`; closes it again unless `fn` returns a vault that owns it. */
async function withStorage<T>(fn: (storage: IndexedDbVaultStorage) => Promise<T>, keepOpen = false): Promise<T> {
  const storage = new IndexedDbVaultStorage();
  try {
    const result = await app(() => fn(storage));
    if (!keepOpen) storage.close();
    return result;
  } catch (error) {
    storage.close();
    throw error;
  }
}

/**
 * Runs `fn` holding the vault lock exclusively (src/vault/locks.ts): no other tab is between
 * reading and writing a ticket counter meanwhile. Browsers without Web Locks cannot have accounts
 * in use (they are never spent there), so `fn` runs as it is.
 */
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  return hasWebLocks() ? withVaultLock('exclusive', fn) : fn();
}

/**
 * This browser's credential vault: `@zkcredits/core/vault` over IndexedDB, its errors as the
 * app's. Every credit and account is encrypted at rest under a key derived from the user's
 * passphrase; the key lives only in memory, for this tab's session.
 *
 * It is the `AccountStore` of v2 accounts (core's opening, spending and recovery write through
 * it). Across tabs, ticket writes happen under the account's Web Lock (src/chat/ticket.ts), and
 * the whole-vault rewrites (unlock burning in-flight tickets, restore, import) under the vault
 * lock held exclusively.
 */
export class Vault implements AccountStore, MeteredAccountStore {
  private constructor(
    private readonly inner: CoreVault,
    private readonly storage: IndexedDbVaultStorage,
  ) {}

  private static async open(fn: (storage: IndexedDbVaultStorage) => Promise<CoreVault>): Promise<Vault> {
    let opened: IndexedDbVaultStorage | undefined;
    const inner = await withStorage(async (storage) => {
      opened = storage;
      return fn(storage);
    }, true);
    return new Vault(inner, opened!);
  }

  /** Whether this browser already holds a vault. */
  static exists(): Promise<boolean> {
    return withStorage((storage) => CoreVault.exists(storage));
  }

  /** Creates an empty vault protected by `passphrase`. */
  static async create(passphrase: string): Promise<Vault> {
    return Vault.open((storage) => CoreVault.create(storage, passphrase));
  }

  /**
   * Opens the vault; a wrong passphrase fails with `wrong_passphrase` and changes nothing.
   * Tickets journaled by a tab that ended are burned (their bodies are gone): under the exclusive
   * vault lock, so a ticket another tab is taking right now is never rolled back.
   */
  static async unlock(passphrase: string): Promise<Vault> {
    return exclusive(() => Vault.open((storage) => CoreVault.unlock(storage, passphrase)));
  }

  /**
   * Creates this browser's vault from a backup file (fresh browser): the backup's passphrase
   * becomes the vault's passphrase. Nothing is written unless the whole file checks out. Its
   * accounts are `recoveryNeeded` (core): no ticket of theirs is taken until recovery
   * (src/accounts/recover.ts) has moved their counters past every ticket the server has seen.
   */
  static async restore(text: string, passphrase: string): Promise<Vault> {
    return exclusive(() => Vault.open((storage) => CoreVault.restore(storage, text, passphrase)));
  }

  get id(): string {
    return this.inner.id;
  }

  list(): CreditRecord[] {
    return this.inner.list();
  }

  counts(): CreditCounts {
    return this.inner.counts();
  }

  get(id: string): CreditRecord | undefined {
    return this.inner.get(id);
  }

  /** Saves new credits (all or none), e.g. pending credits right before a purchase is sent. */
  add(records: CreditRecord[]): Promise<void> {
    return app(() => this.inner.add(records));
  }

  /** Updates one credit. */
  update(id: string, patch: CreditPatch): Promise<CreditRecord> {
    return app(() => this.inner.update(id, patch));
  }

  /** Archives credits (kept in the vault and its backups, no longer counted or used). Returns how many. */
  archive(ids: string[]): Promise<number> {
    return app(() => this.inner.archive(ids));
  }

  /** The vault as a backup file: the same ciphertexts, readable only with the passphrase. */
  exportBackup(): Promise<string> {
    return app(async () => this.inner.exportBackup());
  }

  /**
   * Merges a backup into this vault; a damaged file or a wrong passphrase throws and changes
   * nothing. The backup's accounts wait for recovery (`recoveryNeeded`), as after `restore`.
   */
  importBackup(text: string, passphrase: string): Promise<ImportResult> {
    return exclusive(() => app(() => this.inner.importBackup(text, passphrase)));
  }

  // ------------------------------------------------------------------ v2 accounts

  /** Whether the vault has its master secret (it made or imported one). */
  get hasMaster(): boolean {
    return this.inner.hasMaster;
  }

  /** Every account record, oldest first (this tab's copy: another tab may have moved counters on). */
  accounts(): AccountRecord[] {
    return this.inner.accounts();
  }

  getAccount(id: string): AccountRecord | undefined {
    return this.inner.getAccount(id);
  }

  masterSecret(): Promise<bigint> {
    return app(() => this.inner.masterSecret());
  }

  listAccounts(): Promise<readonly AccountRecord[]> {
    return app(() => this.inner.listAccounts());
  }

  addAccounts(records: readonly AccountRecord[]): Promise<void> {
    return app(() => this.inner.addAccounts(records));
  }

  updateAccount(id: string, patch: AccountPatch): Promise<AccountRecord> {
    return app(() => this.inner.updateAccount(id, patch));
  }

  /** Journals the next ticket (stored before this returns). Call it holding the account's Web Lock. */
  takeTicket(id: string, digest: string, today?: number): Promise<{ ticket: number; account: AccountRecord }> {
    return app(() => this.inner.takeTicket(id, digest, today));
  }

  /** Settles a journaled ticket. Call it holding the account's Web Lock. */
  settleTicket(id: string, ticket: number, outcome: TicketOutcome): Promise<AccountRecord> {
    return app(() => this.inner.settleTicket(id, ticket, outcome));
  }

  // ------------------------------------------------------------------ v2 metered accounts

  /** Every metered account record, oldest first (this tab's copy: another tab may have moved lanes on). */
  meteredAccounts(): MeteredAccountRecord[] {
    return this.inner.meteredAccounts();
  }

  listMeteredAccounts(): Promise<readonly MeteredAccountRecord[]> {
    return app(() => this.inner.listMeteredAccounts());
  }

  /** The metered account as stored now (another tab may have moved it on). */
  meteredAccount(id: string): Promise<MeteredAccountRecord> {
    return app(() => this.inner.meteredAccount(id));
  }

  addMeteredAccounts(records: readonly MeteredAccountRecord[]): Promise<void> {
    return app(() => this.inner.addMeteredAccounts(records));
  }

  updateMeteredAccount(id: string, patch: MeteredAccountPatch): Promise<MeteredAccountRecord> {
    return app(() => this.inner.updateMeteredAccount(id, patch));
  }

  /** Journals a call on a lane (stored before this returns). Call it holding the account's Web Lock. */
  journalLane(id: string, lane: number, pending: LanePending): Promise<MeteredAccountRecord> {
    return app(() => this.inner.journalLane(id, lane, pending));
  }

  /** Makes a verified signed state its lane's state. Call it holding the account's Web Lock. */
  commitLane(id: string, lane: number, nullifier: bigint, signed: LaneSignedState): Promise<{ record: MeteredAccountRecord; committed: boolean }> {
    return app(() => this.inner.commitLane(id, lane, nullifier, signed));
  }

  /** Whether the user accepted the warning shown before the first account opening. */
  async accountWarningAccepted(): Promise<boolean> {
    return (await this.appState()).accountWarningAcceptedAt !== undefined;
  }

  async acceptAccountWarning(): Promise<void> {
    await app(() => this.storage.updateAppState({ accountWarningAcceptedAt: Date.now() }));
  }

  private appState(): Promise<VaultAppState> {
    return app(() => this.storage.readAppState());
  }

  /** Forgets the key; the vault must be unlocked again. */
  lock(): void {
    this.inner.lock();
  }
}

/** Parses, authenticates and decrypts a backup file; throws (an `AppError`) before anything is written. */
export function readBackup(text: string, passphrase: string): Promise<CreditRecord[]> {
  return app(() => coreReadBackup(text, passphrase));
}
