import { VaultError, type StoredCredit, type StoredVault, type VaultMeta, type VaultStorage } from '@zkcredits/core/vault';
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

const DB_NAME = 'zkcredits-vault';

/** The database layout the app has always used: the header under `meta`/`vault`, one row per credit. */
interface VaultDB extends DBSchema {
  meta: { key: 'vault'; value: VaultMeta };
  credits: { key: string; value: StoredCredit };
}

/**
 * The vault's ciphertexts in this browser's IndexedDB (`zkcredits-vault`). The database opens on
 * first use and stays open until `close()` (the vault's `lock()`). Each write is one transaction.
 */
export class IndexedDbVaultStorage implements VaultStorage {
  private database: Promise<IDBPDatabase<VaultDB>> | undefined;

  private db(): Promise<IDBPDatabase<VaultDB>> {
    this.database ??= openDB<VaultDB>(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore('meta');
        database.createObjectStore('credits', { keyPath: 'id' });
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
    const tx = (await this.db()).transaction(['meta', 'credits']);
    const [meta, credits] = await Promise.all([tx.objectStore('meta').get('vault'), tx.objectStore('credits').getAll(), tx.done]);
    return meta ? { meta, credits } : undefined;
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

  close(): void {
    const database = this.database;
    this.database = undefined;
    void database?.then((d) => d.close(), () => undefined);
  }
}
