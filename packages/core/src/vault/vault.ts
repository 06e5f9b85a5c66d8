import { VaultError, isZkCreditsError } from '../errors.js';
import { readBackup, storedCredit, vaultMeta, writeBackup } from './backup.js';
import { checkAad, creditAad, deriveKey, newId, newKdfParams, open, seal } from './crypto.js';
import { countCredits, creditRecord, mergeRecords, type CreditCounts, type CreditPatch, type CreditRecord } from './record.js';
import type { StoredCredit, VaultMeta, VaultStorage } from './storage.js';

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

/**
 * The credential vault: every credit encrypted at rest under a key derived from the user's
 * passphrase (see `crypto.ts`), kept in a `VaultStorage`. The key and the plaintext records live
 * only in this object's memory, until `lock()`. Once created or unlocked, the vault owns its
 * storage: `lock()` closes it. Every write goes to the storage first, then to memory, so a
 * failed write changes nothing.
 */
export class Vault {
  private locked = false;

  private constructor(
    private readonly storage: VaultStorage,
    private readonly meta: VaultMeta,
    private readonly key: CryptoKey,
    private readonly credits: Map<string, CreditRecord>,
    private readonly sealed: Map<string, StoredCredit>,
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
    return new Vault(storage, meta.data, key, credits, sealed);
  }

  /**
   * Creates a vault in `storage` from a backup file: the backup's passphrase becomes the vault's.
   * Nothing is written unless the whole file checks out.
   */
  static async restore(storage: VaultStorage, text: string, passphrase: string): Promise<Vault> {
    const records = await readBackup(text, passphrase);
    const vault = await Vault.create(storage, passphrase);
    await vault.putAll(records);
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

  /** The vault as a backup file (`backup.ts`): the same ciphertexts, readable only with the passphrase. */
  exportBackup(): string {
    this.assertUnlocked();
    return writeBackup(this.meta, [...this.sealed.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  }

  /**
   * Merges a backup into this vault. A damaged file or a wrong passphrase throws and changes
   * nothing. Credits already here are merged (the most advanced status wins).
   */
  async importBackup(text: string, passphrase: string): Promise<{ added: number; updated: number }> {
    this.assertUnlocked();
    const incoming = await readBackup(text, passphrase);
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

  /** Forgets the key and the records, and closes the storage; the vault must be unlocked again. */
  lock(): void {
    if (this.locked) return;
    this.locked = true;
    this.credits.clear();
    this.sealed.clear();
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

function parseRecord(value: unknown): CreditRecord {
  const parsed = creditRecord.safeParse(value);
  if (!parsed.success) throw new VaultError('invalid_credit', 'That is not a valid credit record.', { details: issueText(parsed.error.issues[0]) });
  return parsed.data;
}

/** Where and what, never the value (it may be a secret). */
function issueText(issue: { path: PropertyKey[]; message: string } | undefined): string | undefined {
  return issue ? `${issue.path.map(String).join('.') || '(value)'}: ${issue.message}` : undefined;
}
