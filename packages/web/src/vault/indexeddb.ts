import { VaultError, type Sealed, type StoredAccount, type StoredCredit, type StoredVault, type VaultMeta, type VaultStorage } from '@zkcredits/core/vault';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

const DB_NAME = 'zkcredits-vault';

/**
 * What this browser remembers about its vault besides the sealed records (nothing secret, in the
 * clear): when the user accepted the warning shown before the first account opening.
 */
export type VaultAppState = { accountWarningAcceptedAt?: number };

/**
 * The database layout: the header under `meta`/`vault`, one row per credit (version 1, as the
 * app has always written it); version 2 adds the sealed master secret (`master`/`master`) and one
 * row per v2 account. The app's own state (`VaultAppState`) is `meta`/`app` (no new version).
 */
interface VaultDB extends DBSchema {
  meta: { key: 'vault' | 'app'; value: VaultMeta | VaultAppState };
  credits: { key: string; value: StoredCredit };
  master: { key: 'master'; value: Sealed };
  accounts: { key: string; value: StoredAccount };
}

/**
 * The vault's ciphertexts in this browser's IndexedDB (`zkcredits-vault`). The database opens on
 * first use and stays open until `close()` (the vault's `lock()`). Each write is one transaction.
 */
export class IndexedDbVaultStorage implements VaultStorage {
  private database: Promise<IDBPDatabase<VaultDB>> | undefined;

  private db(): Promise<IDBPDatabase<VaultDB>> {
    this.database ??= openDB<VaultDB>(DB_NAME, 2, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('meta');
          database.createObjectStore('credits', { keyPath: 'id' });
        }
        if (oldVersion < 2) {
          database.createObjectStore('master');
          database.createObjectStore('accounts', { keyPath: 'id' });
        }
      },
    }).catch((cause: unknown) => {
      this.database = undefined;
      throw new VaultError('storage_failed', 'This browser does not let the app store data.', {
        details: 'IndexedDB is unavailable (private window or storage disabled?)',
        cause,
      });
    });
    return this.database;
  }

  async exists(): Promise<boolean> {
    return (await (await this.db()).get('meta', 'vault')) !== undefined;
  }

  async load(): Promise<StoredVault | undefined> {
    const tx = (await this.db()).transaction(['meta', 'credits', 'master', 'accounts']);
    const [meta, credits, master, accounts] = await Promise.all([
      tx.objectStore('meta').get('vault'),
      tx.objectStore('credits').getAll(),
      tx.objectStore('master').get('master'),
      tx.objectStore('accounts').getAll(),
      tx.done,
    ]);
    return meta ? { meta: meta as VaultMeta, credits, ...(master ? { master } : {}), ...(accounts.length > 0 ? { accounts } : {}) } : undefined;
  }

  async create(meta: VaultMeta): Promise<void> {
    const tx = (await this.db()).transaction('meta', 'readwrite');
    if (await tx.store.get('vault')) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new VaultError('vault_exists', 'This browser already has a vault. Unlock it instead.');
    }
    await Promise.all([tx.store.put(meta, 'vault'), tx.done]);
  }

  async put(credits: StoredCredit[]): Promise<void> {
    const database = await this.db();
    try {
      const tx = database.transaction('credits', 'readwrite');
      await Promise.all([...credits.map((c) => tx.store.put(c)), tx.done]);
    } catch (cause) {
      throw new VaultError('storage_failed', 'Could not save to this browser’s storage.', { cause });
    }
  }

  async putMaster(master: Sealed): Promise<Sealed> {
    const database = await this.db();
    try {
      // One transaction: a master another tab stored first is kept, never overwritten.
      const tx = database.transaction('master', 'readwrite');
      const stored = await tx.store.get('master');
      if (!stored) await tx.store.put(master, 'master');
      await tx.done;
      return stored ?? master;
    } catch (cause) {
      throw new VaultError('storage_failed', 'Could not save to this browser’s storage.', { cause });
    }
  }

  async putAccounts(accounts: StoredAccount[]): Promise<void> {
    const database = await this.db();
    try {
      const tx = database.transaction('accounts', 'readwrite');
      await Promise.all([...accounts.map((a) => tx.store.put(a)), tx.done]);
    } catch (cause) {
      throw new VaultError('storage_failed', 'Could not save to this browser’s storage.', { cause });
    }
  }

  async loadAccount(id: string): Promise<StoredAccount | undefined> {
    return (await this.db()).get('accounts', id);
  }

  async readAppState(): Promise<VaultAppState> {
    return ((await (await this.db()).get('meta', 'app')) as VaultAppState | undefined) ?? {};
  }

  /** Changes the app's state in one transaction (a read and a write). */
  async updateAppState(patch: VaultAppState): Promise<VaultAppState> {
    const database = await this.db();
    try {
      const tx = database.transaction('meta', 'readwrite');
      const next = { ...((await tx.store.get('app')) as VaultAppState | undefined), ...patch };
      await Promise.all([tx.store.put(next, 'app'), tx.done]);
      return next;
    } catch (cause) {
      throw new VaultError('storage_failed', 'Could not save to this browser’s storage.', { cause });
    }
  }

  close(): void {
    const database = this.database;
    this.database = undefined;
    void database?.then((d) => d.close(), () => undefined);
  }
}
