import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { AppError } from '../errors';
import { BACKUP_FORMAT, MAX_BACKUP_BYTES, backupFile, type BackupFile } from './backup';
import { deriveKey, newKdfParams, open, randomBytes, seal, type KdfParams, type Sealed } from './crypto';
import { countCredits, creditRecord, mergeRecords, type CreditCounts, type CreditRecord } from './record';

const DB_NAME = 'zkcredits-vault';
const MIN_PASSPHRASE = 10;

type Meta = { id: string; version: 1; kdf: KdfParams; check: Sealed; createdAt: number };
type StoredCredit = Sealed & { id: string };

interface VaultDB extends DBSchema {
  meta: { key: 'vault'; value: Meta };
  credits: { key: string; value: StoredCredit };
}

const checkAad = (vault: string) => `zkcredits/v1/check/${vault}`;
const creditAad = (vault: string, id: string) => `zkcredits/v1/credit/${vault}/${id}`;

export function newId(): string {
  return Array.from(randomBytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function db(): Promise<IDBPDatabase<VaultDB>> {
  try {
    return await openDB<VaultDB>(DB_NAME, 1, {
      upgrade(database) {
        database.createObjectStore('meta');
        database.createObjectStore('credits', { keyPath: 'id' });
      },
    });
  } catch (cause) {
    throw new AppError('storage_failed', 'This browser does not let the app store data.', {
      details: 'IndexedDB is unavailable (private window or storage disabled?)',
      cause,
    });
  }
}

function checkPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE) {
    throw new AppError('weak_passphrase', `Use a passphrase of at least ${MIN_PASSPHRASE} characters.`);
  }
}

/**
 * The credential vault: every credit is encrypted at rest in IndexedDB under a key derived
 * from the user's passphrase. The key lives only in memory, for this tab's session.
 */
export class Vault {
  private constructor(
    private readonly database: IDBPDatabase<VaultDB>,
    private readonly meta: Meta,
    private readonly key: CryptoKey,
    private readonly credits: Map<string, CreditRecord>,
  ) {}

  /** Whether this browser already holds a vault. */
  static async exists(): Promise<boolean> {
    const database = await db();
    try {
      return (await database.get('meta', 'vault')) !== undefined;
    } finally {
      database.close();
    }
  }

  /** Creates an empty vault protected by `passphrase`. */
  static async create(passphrase: string): Promise<Vault> {
    checkPassphrase(passphrase);
    const database = await db();
    const id = newId();
    const kdf = newKdfParams();
    const key = await deriveKey(passphrase, kdf);
    const meta: Meta = { id, version: 1, kdf, check: await seal(key, checkAad(id), { vault: id }), createdAt: Date.now() };
    const tx = database.transaction('meta', 'readwrite');
    if (await tx.store.get('vault')) {
      tx.abort();
      database.close();
      throw new AppError('vault_exists', 'This browser already has a vault. Unlock it instead.');
    }
    await tx.store.put(meta, 'vault');
    await tx.done;
    return new Vault(database, meta, key, new Map());
  }

  /** Opens the vault; a wrong passphrase fails with `wrong_passphrase` and changes nothing. */
  static async unlock(passphrase: string): Promise<Vault> {
    const database = await db();
    const meta = await database.get('meta', 'vault');
    if (!meta) {
      database.close();
      throw new AppError('vault_missing', 'There is no vault in this browser yet.');
    }
    const key = await deriveKey(passphrase, meta.kdf);
    try {
      await open(key, checkAad(meta.id), meta.check);
    } catch (cause) {
      database.close();
      throw new AppError('wrong_passphrase', 'That passphrase does not unlock this vault.', { cause });
    }
    const credits = new Map<string, CreditRecord>();
    for (const stored of await database.getAll('credits')) {
      const record = creditRecord.parse(await open(key, creditAad(meta.id, stored.id), stored));
      credits.set(record.id, record);
    }
    return new Vault(database, meta, key, credits);
  }

  /**
   * Creates this browser's vault from a backup file (fresh browser): the backup's passphrase
   * becomes the vault's passphrase. Nothing is written unless the whole file checks out.
   */
  static async restore(text: string, passphrase: string): Promise<Vault> {
    const records = await readBackup(text, passphrase);
    const vault = await Vault.create(passphrase);
    await vault.putAll(records);
    return vault;
  }

  get id(): string {
    return this.meta.id;
  }

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
    await this.putAll(records.map((r) => creditRecord.parse(r)));
  }

  /** Updates one credit. */
  async update(id: string, patch: Partial<Omit<CreditRecord, 'id' | 'nullifier' | 'secret' | 'commitment'>>): Promise<CreditRecord> {
    const current = this.credits.get(id);
    if (!current) throw new AppError('storage_failed', 'That credit is not in the vault.', { details: `id ${id}` });
    const next = creditRecord.parse({ ...current, ...patch });
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

  /** The vault as a file: the same ciphertexts, readable only with the passphrase. */
  async exportBackup(): Promise<string> {
    const stored = await this.database.getAll('credits');
    const file: BackupFile = {
      format: BACKUP_FORMAT,
      version: 1,
      vault: this.meta.id,
      kdf: this.meta.kdf,
      check: this.meta.check,
      credits: stored.map(({ id, iv, ct }) => ({ id, iv, ct })),
      exportedAt: new Date().toISOString(),
    };
    return JSON.stringify(file, null, 1);
  }

  /**
   * Merges a backup into this vault. A damaged file or a wrong passphrase throws and changes
   * nothing. Credits already here are merged (the most advanced status wins).
   */
  async importBackup(text: string, passphrase: string): Promise<{ added: number; updated: number }> {
    const incoming = await readBackup(text, passphrase);
    const byCommitment = new Map([...this.credits.values()].map((r) => [r.commitment, r]));
    const writes: CreditRecord[] = [];
    let added = 0;
    let updated = 0;
    for (const record of incoming) {
      const existing = byCommitment.get(record.commitment);
      if (!existing) {
        writes.push({ ...record, id: this.credits.has(record.id) ? newId() : record.id });
        added++;
      } else {
        const merged = mergeRecords(existing, record);
        if (JSON.stringify(merged) !== JSON.stringify(existing)) {
          writes.push(merged);
          updated++;
        }
      }
    }
    await this.putAll(writes);
    return { added, updated };
  }

  /** Forgets the key; the vault must be unlocked again. */
  lock(): void {
    this.credits.clear();
    this.database.close();
  }

  private async putAll(records: CreditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const sealed = await Promise.all(
      records.map(async (r) => ({ id: r.id, ...(await seal(this.key, creditAad(this.meta.id, r.id), r)) })),
    );
    try {
      const tx = this.database.transaction('credits', 'readwrite');
      await Promise.all([...sealed.map((s) => tx.store.put(s)), tx.done]);
    } catch (cause) {
      throw new AppError('storage_failed', 'Could not save to this browser’s storage.', { cause });
    }
    for (const r of records) this.credits.set(r.id, r);
  }
}

/** Parses, authenticates and decrypts a backup file; throws before anything is written. */
export async function readBackup(text: string, passphrase: string): Promise<CreditRecord[]> {
  if (text.length > MAX_BACKUP_BYTES) {
    throw new AppError('backup_invalid', 'That file is too large to be a zkcredits backup.');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError('backup_invalid', 'That file is not a zkcredits backup (it is not valid JSON).', { cause });
  }
  const parsed = backupFile.safeParse(json);
  if (!parsed.success) {
    throw new AppError('backup_invalid', 'That file is not a zkcredits backup or it is damaged.', {
      details: parsed.error.issues[0]?.message,
    });
  }
  const file = parsed.data;
  const key = await deriveKey(passphrase, file.kdf);
  try {
    await open(key, checkAad(file.vault), file.check);
  } catch (cause) {
    throw new AppError('backup_wrong_passphrase', 'That passphrase does not open this backup.', { cause });
  }
  const records: CreditRecord[] = [];
  for (const stored of file.credits) {
    let value: unknown;
    try {
      value = await open(key, creditAad(file.vault, stored.id), stored);
    } catch (cause) {
      throw new AppError('backup_invalid', 'The backup is damaged: a credit could not be decrypted.', { cause });
    }
    const record = creditRecord.safeParse(value);
    if (!record.success || record.data.id !== stored.id) {
      throw new AppError('backup_invalid', 'The backup is damaged: a credit is malformed.');
    }
    records.push(record.data);
  }
  return records;
}
