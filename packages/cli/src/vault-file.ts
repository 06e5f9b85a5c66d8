/**
 * The vault in a file (`vault.json`, 0600, atomic writes) and the lock that makes one process at
 * a time its writer (`vault.lock`, created with O_EXCL, holding the owner's pid), so `chat` and
 * `serve` in two processes never pick the same credit.
 */
import { hostname } from 'node:os';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { VaultError, type Sealed, type StoredAccount, type StoredCredit, type StoredVault, type VaultMeta, type VaultStorage } from '@zkcredits/core/vault';
import { CliError } from './errors.js';
import { createFileAtomic, isErrno, readIfExists, writeFileAtomic } from './files.js';

/**
 * A `VaultStorage` in one JSON file: `{ meta, credits }`, plus `master` and `accounts` once the
 * vault has v2 accounts; ciphertexts only. Writes are serialised in this process (each one reads,
 * merges and atomically replaces the file); other processes are kept out by `VaultLock`.
 */
export class FileVaultStorage implements VaultStorage {
  #writes: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async exists(): Promise<boolean> {
    return (await readIfExists(this.path)) !== undefined;
  }

  async load(): Promise<StoredVault | undefined> {
    const text = await readIfExists(this.path);
    if (text === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VaultError('vault_corrupt', 'The vault file is damaged: it is not JSON.', { details: this.path });
    }
    const value = json as Partial<StoredVault> | null;
    if (!value || typeof value !== 'object' || typeof value.meta !== 'object' || !Array.isArray(value.credits) || (value.accounts !== undefined && !Array.isArray(value.accounts))) {
      throw new VaultError('vault_corrupt', 'The vault file is damaged: it is not a zkcredits vault.', { details: this.path });
    }
    return value as StoredVault;
  }

  async create(meta: VaultMeta): Promise<void> {
    try {
      await createFileAtomic(this.path, JSON.stringify({ meta, credits: [] }));
    } catch (cause) {
      if (isErrno(cause, 'EEXIST')) throw new VaultError('vault_exists', 'A vault already exists here. Unlock it instead.', { details: this.path });
      throw cause;
    }
  }

  put(credits: StoredCredit[]): Promise<void> {
    return this.#write((current) => ({ ...current, credits: merged(current.credits, credits) }));
  }

  async putMaster(master: Sealed): Promise<Sealed> {
    let stored: Sealed = master;
    await this.#write((current) => {
      stored = current.master ?? { iv: master.iv, ct: master.ct };
      return { ...current, master: stored };
    });
    return stored;
  }

  putAccounts(accounts: StoredAccount[]): Promise<void> {
    return this.#write((current) => ({ ...current, accounts: merged(current.accounts ?? [], accounts) }));
  }

  async loadAccount(id: string): Promise<StoredAccount | undefined> {
    await this.#writes;
    return (await this.load())?.accounts?.find((a) => a.id === id);
  }

  #write(change: (current: StoredVault) => StoredVault): Promise<void> {
    const write = this.#writes.then(async () => {
      const current = await this.load();
      if (!current) throw new VaultError('storage_failed', 'There is no vault to save to.', { details: this.path });
      const next = change(current);
      // Key order as always (`meta`, `credits`), the v2 keys only once there is something in them.
      await writeFileAtomic(
        this.path,
        JSON.stringify({ meta: next.meta, credits: next.credits, ...(next.master ? { master: next.master } : {}), ...(next.accounts?.length ? { accounts: next.accounts } : {}) }),
      );
    });
    this.#writes = write.catch(() => {});
    return write;
  }
}

/** `rows` with `updates` inserted or replaced by id, in id order. */
function merged<T extends { id: string; iv: string; ct: string }>(rows: readonly T[], updates: readonly T[]): { id: string; iv: string; ct: string }[] {
  const byId = new Map(rows.map((r) => [r.id, { id: r.id, iv: r.iv, ct: r.ct }]));
  for (const r of updates) byId.set(r.id, { id: r.id, iv: r.iv, ct: r.ct });
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

type LockInfo = { pid: number; host: string; command: string; since: number };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM'); // exists, owned by someone else
  }
}

function parseLock(text: string | undefined): LockInfo | undefined {
  try {
    const v = JSON.parse(text ?? '') as LockInfo;
    return Number.isSafeInteger(v.pid) && v.pid > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a lock's owner is gone: a dead pid on this host, or a file never completed (older than 10 s). */
function isStale(info: LockInfo | undefined, mtimeMs: number): boolean {
  if (!info) return Date.now() - mtimeMs > 10_000;
  return info.host === hostname() && !alive(info.pid);
}

/** The vault's writer lock, held by this process until `release()` (or exit). */
export class VaultLock {
  private released = false;
  private readonly onExit = () => this.releaseSync();

  private constructor(readonly path: string, private readonly token: string) {
    process.once('exit', this.onExit);
  }

  /** Takes the lock, or fails with `vault_busy` naming the process that holds it. Clears a stale lock. */
  static async acquire(path: string, command: string): Promise<VaultLock> {
    const token = randomBytes(8).toString('hex');
    const info = JSON.stringify({ pid: process.pid, host: hostname(), command, since: Date.now(), token });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const file = await open(path, 'wx', 0o600);
        try {
          await file.writeFile(info);
          await file.sync();
        } finally {
          await file.close();
        }
        return new VaultLock(path, token);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const handle = await open(path, 'r').catch(() => undefined);
      if (!handle) continue; // released meanwhile
      const [text, st] = await Promise.all([handle.readFile('utf8'), handle.stat()]).finally(() => handle.close());
      const holder = parseLock(text);
      if (!isStale(holder, st.mtimeMs)) {
        throw new CliError('vault_busy', `The vault is in use by another zkcredits process${holder ? ` (pid ${holder.pid}, \`${holder.command}\`)` : ''}.`, {
          details: 'One process at a time spends from a vault. Stop it (or use `zkcredits serve` for both), then try again.',
        });
      }
      // Stale: move it aside under a unique name, check it is the one judged stale, then retry.
      const aside = `${path}.stale-${token}`;
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      const moved = await readFile(aside, 'utf8').catch(() => undefined);
      if (moved !== text) {
        // Another process replaced it meanwhile with a live lock: put it back (never over a newer one).
        await createFileAtomicBack(aside, path);
      } else {
        await rm(aside, { force: true });
      }
    }
    throw new CliError('vault_busy', 'The vault lock could not be taken (another process keeps changing it).');
  }

  /** Releases the lock (only if it is still this process's). */
  async release(): Promise<void> {
    this.releaseSync();
  }

  private releaseSync(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    try {
      const text = readFileSync(this.path, 'utf8');
      if ((JSON.parse(text) as { token?: string }).token === this.token) unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

async function createFileAtomicBack(from: string, to: string): Promise<void> {
  const text = await readFile(from, 'utf8').catch(() => undefined);
  if (text !== undefined) await createFileAtomic(to, text).catch(() => {});
  await rm(from, { force: true });
}
