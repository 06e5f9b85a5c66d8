// The vault's file storage and lock, without a stack: concurrent writes all land, a second vault is
// refused, files stay 0600, and the writer lock admits one holder at a time.
import { stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSecrets, Vault, type CreditRecord } from '@zkcredits/core/vault';
import { describe, expect, it } from 'vitest';
import { FileVaultStorage, VaultLock } from '../src/vault-file.js';
import { tempDir } from './cli-helpers.js';

const PASS = 'a long enough passphrase';

function record(i: number): CreditRecord {
  const { nullifier, secret } = generateSecrets();
  return {
    id: i.toString(16).padStart(32, '0'),
    nullifier,
    secret,
    commitment: `0x${(i + 1).toString(16).padStart(64, '0')}`,
    status: 'pending',
    chainId: 31337,
    contract: `0x${'ab'.repeat(20)}`,
    batch: '0'.repeat(32),
    fromBlock: '0',
    createdAt: i,
  };
}

describe('FileVaultStorage', () => {
  it('keeps every one of many concurrent updates; files 0600; no temp files left', async () => {
    const dir = await tempDir('vf');
    const path = join(dir, 'vault.json');
    const vault = await Vault.create(new FileVaultStorage(path), PASS);
    const records = Array.from({ length: 20 }, (_, i) => record(i));
    await vault.add(records);
    await Promise.all(records.map((r) => vault.update(r.id, { status: 'unspent', leafIndex: Number(r.createdAt) })));
    vault.lock();
    const again = await Vault.unlock(new FileVaultStorage(path), PASS);
    expect(again.list().map((r) => r.status)).toEqual(Array(20).fill('unspent'));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['vault.json']);
    await expect(Vault.create(new FileVaultStorage(path), PASS)).rejects.toMatchObject({ code: 'vault_exists' });
  });
});

describe('VaultLock', () => {
  it('one holder at a time; released, it can be taken again', async () => {
    const path = join(await tempDir('lock'), 'vault.lock');
    const first = await VaultLock.acquire(path, 'test');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(VaultLock.acquire(path, 'other')).rejects.toMatchObject({ code: 'vault_busy' });
    await first.release();
    const second = await VaultLock.acquire(path, 'other');
    await second.release();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
