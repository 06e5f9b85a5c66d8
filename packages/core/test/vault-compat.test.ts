// Vaults and backups written by the web app before the vault moved to core (fixture made in
// Chromium by that code: test/fixtures/vault-web-v1.json) open with this code, unchanged.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryVaultStorage, Vault, readBackup, type CreditRecord, type StoredVault } from '../src/vault/index.js';

type Fixture = { passphrase: string; records: CreditRecord[]; indexedDb: StoredVault; backup: string };
const fixture = JSON.parse(readFileSync(new URL('./fixtures/vault-web-v1.json', import.meta.url), 'utf8')) as Fixture;

describe('vault format compatibility with the web app', () => {
  it('opens the IndexedDB rows the web app wrote and reads the same records', async () => {
    const vault = await Vault.unlock(new MemoryVaultStorage(fixture.indexedDb), fixture.passphrase);
    expect(vault.id).toBe(fixture.indexedDb.meta.id);
    expect(vault.list()).toEqual(fixture.records);
    expect(vault.counts()).toEqual({ unspent: 1, spent: 1, pending: 1, archived: 1 });
  });

  it('reads the backup file the web app exported', async () => {
    expect(await readBackup(fixture.backup, fixture.passphrase)).toEqual(fixture.records);
    const restored = await Vault.restore(new MemoryVaultStorage(), fixture.backup, fixture.passphrase);
    expect(restored.list()).toEqual(fixture.records);
  });

  it('exports the same backup file, byte for byte (but the export time), as the web app did', async () => {
    const vault = await Vault.unlock(new MemoryVaultStorage(fixture.indexedDb), fixture.passphrase);
    const exportedAt = (JSON.parse(fixture.backup) as { exportedAt: string }).exportedAt;
    expect(vault.exportBackup().replace(/"exportedAt": "[^"]*"/, `"exportedAt": "${exportedAt}"`)).toBe(fixture.backup);
  });

  it('writes rows the same shape as the web app: new credits open in the old layout', async () => {
    const storage = new MemoryVaultStorage(fixture.indexedDb);
    const vault = await Vault.unlock(storage, fixture.passphrase);
    await vault.update(fixture.records[2]!.id, { status: 'unspent', leafIndex: 3 });
    const dump = storage.dump()!;
    expect(Object.keys(dump.meta)).toEqual(Object.keys(fixture.indexedDb.meta));
    for (const row of dump.credits) expect(Object.keys(row)).toEqual(['id', 'iv', 'ct']);
    expect(dump.meta).toEqual(fixture.indexedDb.meta);
  });
});
