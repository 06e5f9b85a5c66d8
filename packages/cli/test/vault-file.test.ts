// The vault's file storage and lock, without a stack: concurrent writes all land, a second vault is
// refused, files stay 0600, v2 accounts and the master secret persist, and the writer lock admits
// one holder at a time.
import { join } from 'node:path';
import { readFile, readdir, stat } from 'node:fs/promises';
import { accountId, deriveAccountSecret, initPoseidon2, toFieldHex } from '@zkcredits/core';
import { generateSecrets, Vault, type AccountRecord, type CreditRecord } from '@zkcredits/core/vault';
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

describe('FileVaultStorage with v2 accounts', () => {
  it('keeps the master secret and accounts through credit writes and reloads; a restart burns the tickets in flight', async () => {
    await initPoseidon2();
    const path = join(await tempDir('vf2'), 'vault.json');
    const vault = await Vault.create(new FileVaultStorage(path), PASS);
    expect(Object.keys(JSON.parse(await readFile(path, 'utf8')) as object)).toEqual(['meta', 'credits']);
    const master = await vault.masterSecret();
    const k = deriveAccountSecret(master, 0);
    const account: AccountRecord = {
      id: 'c'.repeat(32),
      kind: 'flat',
      accountId: toFieldHex(accountId(k)),
      secret: toFieldHex(k),
      index: 0,
      status: 'open',
      chainId: 31337,
      contract: `0x${'ab'.repeat(20)}`,
      tickets: 10,
      expiryDay: 30_000,
      leafIndex: 0,
      fromBlock: '0',
      nextTicket: 0,
      journal: [],
      burned: 0,
      createdAt: 1,
    };
    await vault.addAccounts([account]);
    await Promise.all([vault.takeTicket(account.id, 'a'.repeat(64)), vault.add([record(1)]), vault.takeTicket(account.id, 'b'.repeat(64))]);
    const text = await readFile(path, 'utf8');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['meta', 'credits', 'master', 'accounts']);
    expect(text).not.toContain(account.secret.slice(2));
    vault.lock();

    const again = await Vault.unlock(new FileVaultStorage(path), PASS);
    expect(await again.masterSecret()).toBe(master);
    expect(again.list()).toHaveLength(1);
    expect(again.getAccount(account.id)).toMatchObject({ nextTicket: 2, burned: 2, journal: [] });
    // A master another writer tries to store later never replaces the first.
    const storage = new FileVaultStorage(path);
    const stored = (JSON.parse(text) as { master: { iv: string; ct: string } }).master;
    expect(await storage.putMaster({ iv: 'AAAAAAAAAAAAAAAA', ct: 'AAAA' })).toEqual(stored);
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
