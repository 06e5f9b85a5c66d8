// The credential vault with an in-memory storage: Web Crypto as Node 20 has it, no mocks of the crypto.
import { describe, expect, it } from 'vitest';
import { isZkCreditsError } from '../src/errors.js';
import {
  BACKUP_FORMAT,
  MemoryVaultStorage,
  Vault,
  VaultError,
  generateSecrets,
  readBackup,
  type CreditRecord,
  type StoredVault,
  type VaultStorage,
} from '../src/vault/index.js';

const PASS = 'correct horse battery';
const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const;

/** A credit record as a client stores it (values arbitrary but well-formed). */
function record(i: number, status: CreditRecord['status'] = 'unspent'): CreditRecord {
  return {
    id: i.toString(16).padStart(32, '0'),
    nullifier: h(0xa000 + i),
    secret: h(0xb000 + i),
    commitment: h(0xc000 + i),
    status,
    chainId: 31337,
    contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    batch: 'b'.repeat(32),
    fromBlock: '1',
    createdAt: 1_700_000_000_000 + i,
    ...(status === 'unspent' ? { leafIndex: i } : {}),
  };
}

/** The error `promise` rejects with, asserting it is a VaultError with `code`. */
async function rejection(promise: Promise<unknown>, code: string): Promise<VaultError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isZkCreditsError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as Error).name).toBe('VaultError');
  return error as VaultError;
}

async function vaultWith(records: CreditRecord[]): Promise<{ storage: MemoryVaultStorage; vault: Vault }> {
  const storage = new MemoryVaultStorage();
  const vault = await Vault.create(storage, PASS);
  await vault.add(records);
  return { storage, vault };
}

describe('vault', () => {
  it('round trip: what is added comes back after lock and unlock; storage holds no secret', async () => {
    const records = [record(1), record(2, 'pending'), record(3, 'spent')];
    const { storage, vault } = await vaultWith(records);
    expect(vault.counts()).toEqual({ unspent: 1, spent: 1, pending: 1, archived: 0 });
    vault.lock();
    expect(() => vault.exportBackup()).toThrow(/locked/);
    const raw = JSON.stringify(storage.dump());
    expect(raw).toContain('"ct"');
    for (const r of records) for (const secret of [r.nullifier, r.secret, r.commitment]) expect(raw).not.toContain(secret.slice(2));
    const again = await Vault.unlock(storage, PASS);
    expect(again.list()).toEqual(records);
    expect(again.id).toBe(vault.id);
  });

  it('refuses a short passphrase, a second vault in the same storage, and a missing vault', async () => {
    await rejection(Vault.create(new MemoryVaultStorage(), 'short'), 'weak_passphrase');
    const { storage } = await vaultWith([]);
    await rejection(Vault.create(storage, PASS), 'vault_exists');
    await rejection(Vault.unlock(new MemoryVaultStorage(), PASS), 'vault_missing');
    expect(await Vault.exists(storage)).toBe(true);
    expect(await Vault.exists(new MemoryVaultStorage())).toBe(false);
  });

  it('a wrong passphrase fails with wrong_passphrase and changes nothing', async () => {
    const { storage } = await vaultWith([record(1)]);
    const before = storage.dump();
    await rejection(Vault.unlock(storage, 'not the passphrase'), 'wrong_passphrase');
    expect(storage.dump()).toEqual(before);
    expect((await Vault.unlock(storage, PASS)).list()).toEqual([record(1)]);
  });

  it('a damaged stored vault fails with vault_corrupt', async () => {
    const { storage } = await vaultWith([record(1), record(2)]);
    const good = storage.dump()!;
    const damaged = (change: (s: StoredVault) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return new MemoryVaultStorage(copy);
    };
    // One bit of one ciphertext.
    const flipped = damaged((s) => {
      const ct = s.credits[0]!.ct;
      s.credits[0]!.ct = (ct[0] === 'A' ? 'B' : 'A') + ct.slice(1);
    });
    const e = await rejection(Vault.unlock(flipped, PASS), 'vault_corrupt');
    expect(e.details).toBe(`credit ${record(1).id}`);
    await rejection(Vault.unlock(damaged((s) => (s.credits[1]!.iv = 'not base64!')), PASS), 'vault_corrupt');
    await rejection(Vault.unlock(damaged((s) => ((s.meta as { version: number }).version = 2)), PASS), 'vault_corrupt');
    // A tampered KDF cannot weaken the key or hang the process.
    await rejection(Vault.unlock(damaged((s) => (s.meta.kdf.iterations = 1)), PASS), 'vault_corrupt');
  });

  it('AAD binding: a ciphertext moved to another record id, or to another vault, does not open', async () => {
    const { storage } = await vaultWith([record(1), record(2)]);
    const swapped = storage.dump()!;
    [swapped.credits[0]!.id, swapped.credits[1]!.id] = [swapped.credits[1]!.id, swapped.credits[0]!.id];
    await rejection(Vault.unlock(new MemoryVaultStorage(swapped), PASS), 'vault_corrupt');

    // Same key (same salt and passphrase), other vault id: the check value no longer opens.
    const moved = storage.dump()!;
    moved.meta.id = 'f'.repeat(32);
    await rejection(Vault.unlock(new MemoryVaultStorage(moved), PASS), 'wrong_passphrase');
  });

  it('backup: export → restore into a fresh storage gives the same records', async () => {
    const records = [record(1), record(2, 'pending'), { ...record(3, 'abandoned'), archivedAt: 5 }];
    const { vault } = await vaultWith(records);
    const file = vault.exportBackup();
    expect(JSON.parse(file)).toMatchObject({ format: BACKUP_FORMAT, version: 1, vault: vault.id, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 600_000 } });
    expect(file).not.toContain(record(1).secret.slice(2));
    const fresh = new MemoryVaultStorage();
    const restored = await Vault.restore(fresh, file, PASS);
    expect(restored.list()).toEqual(vault.list());
    restored.lock();
    expect((await Vault.unlock(fresh, PASS)).list()).toEqual(vault.list());
    expect(await readBackup(file, PASS)).toEqual(expect.arrayContaining(records));
  });

  it('import merges (the most advanced status wins); importing the same file twice adds nothing', async () => {
    const { vault } = await vaultWith([record(1), record(2, 'pending')]);
    await vault.update(record(1).id, { status: 'spent', spentAt: 9 });
    await vault.add([record(3)]);
    const file = vault.exportBackup();
    const { vault: other } = await vaultWith([record(1), { ...record(2, 'unspent'), leafIndex: 7 }]);
    expect(await other.importBackup(file, PASS)).toEqual({ added: 1, updated: 1, accounts: { added: 0, updated: 0 } });
    expect(other.get(record(1).id)).toMatchObject({ status: 'spent', spentAt: 9, leafIndex: 1 });
    expect(other.get(record(2).id)).toMatchObject({ status: 'unspent', leafIndex: 7 });
    expect(other.counts()).toEqual({ unspent: 2, spent: 1, pending: 0, archived: 0 });
    expect(await other.importBackup(file, PASS)).toEqual({ added: 0, updated: 0, accounts: { added: 0, updated: 0 } });
  });

  it('a damaged backup, another version or a wrong passphrase is refused and changes nothing', async () => {
    const { storage, vault } = await vaultWith([record(1), record(2)]);
    const good = JSON.parse(vault.exportBackup());
    const before = storage.dump();
    const variant = (change: (f: typeof good) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return JSON.stringify(copy);
    };
    await rejection(vault.importBackup('{"format": "zkcredits-vault-', PASS), 'backup_invalid');
    await rejection(vault.importBackup(JSON.stringify({ hello: 'world' }), PASS), 'backup_invalid');
    await rejection(vault.importBackup(JSON.stringify(good), 'wrong passphrase!!'), 'backup_wrong_passphrase');
    const newer = await rejection(vault.importBackup(variant((f) => (f.version = 4)), PASS), 'backup_unsupported_version');
    expect(newer.details).toBe('version 4; this version reads 1, 2 and 3');
    await rejection(
      vault.importBackup(variant((f) => (f.credits[0].ct = (f.credits[0].ct[0] === 'A' ? 'B' : 'A') + f.credits[0].ct.slice(1))), PASS),
      'backup_invalid',
    );
    await rejection(vault.importBackup(variant((f) => ([f.credits[0].id, f.credits[1].id] = [f.credits[1].id, f.credits[0].id])), PASS), 'backup_invalid');
    await rejection(vault.importBackup(variant((f) => (f.kdf.iterations = 1)), PASS), 'backup_invalid');
    await rejection(vault.importBackup(' '.repeat(64 * 1024 * 1024 + 1), PASS), 'backup_invalid');
    expect(storage.dump()).toEqual(before);
    expect(vault.list()).toEqual([record(1), record(2)]);
    // A failed restore writes nothing either.
    const fresh = new MemoryVaultStorage();
    await rejection(Vault.restore(fresh, JSON.stringify(good), 'wrong passphrase!!'), 'backup_wrong_passphrase');
    expect(await fresh.exists()).toBe(false);
  });

  it('records are checked; unknown ids, archive and a failing storage', async () => {
    const { storage, vault } = await vaultWith([record(1), record(2, 'pending')]);
    const bad = await rejection(vault.add([{ ...record(3), deploymentBlockHash: '0x1234' }]), 'invalid_credit');
    expect(bad.details).toMatch(/^deploymentBlockHash: /);
    expect(bad.message).not.toContain(record(3).secret.slice(2));
    await rejection(vault.update('e'.repeat(32), { status: 'spent' }), 'credit_not_found');
    expect(await vault.archive([record(1).id, record(1).id, 'e'.repeat(32)])).toBe(1);
    expect(vault.counts()).toEqual({ unspent: 0, spent: 0, pending: 1, archived: 1 });

    // A storage whose writes fail: storage_failed, and memory does not run ahead of storage.
    const failing: VaultStorage = {
      exists: () => storage.exists(),
      load: () => storage.load(),
      create: (meta) => storage.create(meta),
      put: async () => {
        throw new Error('disk full');
      },
      putMaster: (master) => storage.putMaster(master),
      putAccounts: (accounts) => storage.putAccounts(accounts),
      loadAccount: (id) => storage.loadAccount(id),
    };
    const v = await Vault.unlock(failing, PASS);
    const e = await rejection(v.update(record(2).id, { status: 'abandoned' }), 'storage_failed');
    expect(e.details).toBe('disk full');
    expect(v.get(record(2).id)?.status).toBe('pending');
  });

  it('generates credentials of 31 random bytes each (top byte zero), non-zero and distinct', () => {
    const values = Array.from({ length: 64 }, () => generateSecrets()).flatMap((p) => [p.nullifier, p.secret]);
    for (const v of values) {
      expect(v).toMatch(/^0x00[0-9a-f]{62}$/);
      expect(BigInt(v)).toBeGreaterThan(0n);
    }
    expect(new Set(values).size).toBe(values.length);
  });
});
