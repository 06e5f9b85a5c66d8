import { isZkCreditsError } from '@zkcredits/core';
import {
  Vault as CoreVault,
  readBackup as coreReadBackup,
  type CreditCounts,
  type CreditPatch,
  type CreditRecord,
  type VaultErrorCode,
} from '@zkcredits/core/vault';
import { AppError } from '../errors';
import { IndexedDbVaultStorage } from './indexeddb';

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
 * This browser's credential vault: `@zkcredits/core/vault` over IndexedDB, its errors as the
 * app's. Every credit is encrypted at rest under a key derived from the user's passphrase; the
 * key lives only in memory, for this tab's session.
 */
export class Vault {
  private constructor(private readonly inner: CoreVault) {}

  /** Whether this browser already holds a vault. */
  static exists(): Promise<boolean> {
    return withStorage((storage) => CoreVault.exists(storage));
  }

  /** Creates an empty vault protected by `passphrase`. */
  static async create(passphrase: string): Promise<Vault> {
    return new Vault(await withStorage((storage) => CoreVault.create(storage, passphrase), true));
  }

  /** Opens the vault; a wrong passphrase fails with `wrong_passphrase` and changes nothing. */
  static async unlock(passphrase: string): Promise<Vault> {
    return new Vault(await withStorage((storage) => CoreVault.unlock(storage, passphrase), true));
  }

  /**
   * Creates this browser's vault from a backup file (fresh browser): the backup's passphrase
   * becomes the vault's passphrase. Nothing is written unless the whole file checks out.
   */
  static async restore(text: string, passphrase: string): Promise<Vault> {
    return new Vault(await withStorage((storage) => CoreVault.restore(storage, text, passphrase), true));
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

  /** Merges a backup into this vault; a damaged file or a wrong passphrase throws and changes nothing. */
  importBackup(text: string, passphrase: string): Promise<{ added: number; updated: number }> {
    return app(() => this.inner.importBackup(text, passphrase));
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
