// v2 accounts in the vault: the master secret, account records sealed at rest, the write-ahead
// ticket journal (taken before anything is sent, burned by a restart, never given twice, also
// with two vault objects over one storage), and the version 2 backup (master + accounts) beside
// version 1 backups, which still import.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isZkCreditsError } from '../src/errors.js';
import { accountId, deriveAccountSecret, toFieldHex } from '../src/index.js';
import {
  MemoryVaultStorage,
  Vault,
  readBackup,
  readBackupContents,
  type AccountRecord,
  type CreditRecord,
  type StoredVault,
} from '../src/vault/index.js';

const PASS = 'correct horse battery';
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);
const fixture = JSON.parse(readFileSync(new URL('./fixtures/vault-web-v1.json', import.meta.url), 'utf8')) as {
  passphrase: string;
  records: CreditRecord[];
  indexedDb: StoredVault;
  backup: string;
};

/** An open account record derived from `master` at index `j`. */
function openAccount(master: bigint, j: number, tickets = 10, id = (j + 1).toString(16).padStart(32, '0')): AccountRecord {
  const k = deriveAccountSecret(master, j);
  return {
    id,
    kind: 'flat',
    accountId: toFieldHex(accountId(k)),
    secret: toFieldHex(k),
    index: j,
    status: 'open',
    chainId: 31337,
    contract: CONTRACT,
    tickets,
    expiryDay: 20_500,
    leafIndex: j,
    fromBlock: '1',
    nextTicket: 0,
    journal: [],
    burned: 0,
    createdAt: 1_700_000_000_000 + j,
  };
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isZkCreditsError(error)).toBe(true);
  return (error as { code: string }).code;
}

async function vaultWithAccount(tickets = 10) {
  const storage = new MemoryVaultStorage();
  const vault = await Vault.create(storage, PASS);
  const account = openAccount(await vault.masterSecret(), 0, tickets);
  await vault.addAccounts([account]);
  return { storage, vault, account };
}

describe('vault: master secret', () => {
  it('is made once on first need (31 bytes), sealed at rest, and the same after unlock', async () => {
    const storage = new MemoryVaultStorage();
    const vault = await Vault.create(storage, PASS);
    expect(vault.hasMaster).toBe(false);
    expect(storage.dump()).not.toHaveProperty('master');
    const [a, b] = await Promise.all([vault.masterSecret(), vault.masterSecret()]);
    expect(a).toBe(b);
    expect(a > 0n && a < 1n << 248n).toBe(true);
    const sealed = storage.dump()!.master!;
    expect(JSON.stringify(sealed)).not.toContain(a.toString(16));
    expect(await (await Vault.unlock(storage, PASS)).masterSecret()).toBe(a);
  });

  it('a second writer that makes its own master adopts the one stored first', async () => {
    const storage = new MemoryVaultStorage();
    await Vault.create(storage, PASS);
    const [one, two] = await Promise.all([Vault.unlock(storage, PASS), Vault.unlock(storage, PASS)]);
    const first = await one.masterSecret();
    expect(await two.masterSecret()).toBe(first);
  });
});

describe('vault: the ticket journal', () => {
  it('takes the next ticket for a digest: journal entry and counter stored before it returns', async () => {
    const { storage, vault, account } = await vaultWithAccount();
    const { ticket, account: after } = await vault.takeTicket(account.id, DIGEST_A);
    expect(ticket).toBe(0);
    expect(after).toMatchObject({ nextTicket: 1, journal: [{ ticket: 0, digest: DIGEST_A }] });
    // What is stored (read by another process) already holds the entry; the digest is sealed.
    expect(JSON.stringify(storage.dump())).not.toContain(DIGEST_A);
    const other = await Vault.unlock(new MemoryVaultStorage(storage.dump()), PASS);
    expect(other.getAccount(account.id)).toMatchObject({ nextTicket: 1, burned: 1, journal: [] });
  });

  it('settles a ticket: served removes its entry, burned also counts it', async () => {
    const { vault, account } = await vaultWithAccount();
    const a = await vault.takeTicket(account.id, DIGEST_A);
    const b = await vault.takeTicket(account.id, DIGEST_B);
    expect(b.ticket).toBe(1);
    expect(await vault.settleTicket(account.id, a.ticket, 'served')).toMatchObject({ nextTicket: 2, burned: 0, journal: [{ ticket: 1, digest: DIGEST_B }] });
    expect(await vault.settleTicket(account.id, b.ticket, 'burned')).toMatchObject({ nextTicket: 2, burned: 1, journal: [] });
    // Settling again changes nothing.
    expect(await vault.settleTicket(account.id, b.ticket, 'burned')).toMatchObject({ burned: 1 });
  });

  it('a restart burns the tickets in flight: the next ticket is past them and never re-sent', async () => {
    const { storage, vault, account } = await vaultWithAccount();
    await vault.takeTicket(account.id, DIGEST_A);
    await vault.takeTicket(account.id, DIGEST_B);
    vault.lock(); // the process ends with both in flight

    const restarted = await Vault.unlock(storage, PASS);
    expect(restarted.getAccount(account.id)).toMatchObject({ nextTicket: 2, burned: 2, journal: [] });
    // Even the same request (digest) gets a new ticket: its old body is gone.
    expect((await restarted.takeTicket(account.id, DIGEST_A)).ticket).toBe(2);
  });

  it('concurrent takes get distinct tickets; a second vault object over the same storage continues from what is stored', async () => {
    const { storage, vault, account } = await vaultWithAccount(40);
    const second = await Vault.unlock(storage, PASS); // a second writer that read the account before any take
    const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => vault.takeTicket(account.id, i.toString(16).padStart(64, '0')).then((t) => t.ticket)));
    expect([...concurrent].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // One writer at a time (the CLI's vault lock, the web app's Web Lock), each with a stale copy in memory.
    const alternating: number[] = [];
    for (let i = 0; i < 6; i++) alternating.push((await (i % 2 ? vault : second).takeTicket(account.id, DIGEST_A)).ticket);
    expect(alternating).toEqual([10, 11, 12, 13, 14, 15]);
    expect(vault.getAccount(account.id)?.journal).toHaveLength(16);
  });

  it('refuses an account that is not open, expired or used up', async () => {
    const { vault, account } = await vaultWithAccount(1);
    expect(await code(vault.takeTicket(account.id, DIGEST_A, 20_501))).toBe('account_expired');
    await vault.takeTicket(account.id, DIGEST_A, 20_500);
    expect(await code(vault.takeTicket(account.id, DIGEST_B))).toBe('no_tickets');
    const pending = { ...openAccount(await vault.masterSecret(), 1), status: 'pending' as const };
    await vault.addAccounts([pending]);
    expect(await code(vault.takeTicket(pending.id, DIGEST_A))).toBe('account_not_open');
    expect(await code(vault.takeTicket('f'.repeat(32), DIGEST_A))).toBe('account_not_found');
  });

  it('status moves forward only, and recovery moves the counter forward only', async () => {
    const { vault, account } = await vaultWithAccount();
    await vault.takeTicket(account.id, DIGEST_A);
    expect(await vault.updateAccount(account.id, { nextTicket: 5 })).toMatchObject({ nextTicket: 5, journal: [{ ticket: 0 }] });
    expect(await vault.updateAccount(account.id, { nextTicket: 2 })).toMatchObject({ nextTicket: 5 });
    await vault.updateAccount(account.id, { status: 'revoked' });
    expect(await code(vault.updateAccount(account.id, { status: 'open' }))).toBe('invalid_account');
    expect(await code(vault.takeTicket(account.id, DIGEST_B))).toBe('account_not_open');
  });
});

describe('vault: backups with accounts', () => {
  it('round trip: a version 2 backup restores the master and every account, in-flight tickets burned', async () => {
    const { vault, account } = await vaultWithAccount();
    const master = await vault.masterSecret();
    await vault.takeTicket(account.id, DIGEST_A);
    await vault.takeTicket(account.id, DIGEST_B);
    await vault.settleTicket(account.id, 0, 'served');
    const text = vault.exportBackup();
    const file = JSON.parse(text) as { version: number; master: unknown; accounts: unknown[] };
    expect(file.version).toBe(2);
    expect(file.accounts).toHaveLength(1);
    expect(text).not.toContain(DIGEST_B);
    expect(text).not.toContain(account.secret.slice(2));

    const restored = await Vault.restore(new MemoryVaultStorage(), text, PASS);
    expect(await restored.masterSecret()).toBe(master);
    // Tickets may have been spent since the backup was made: no ticket until recovery says which.
    expect(restored.accounts()).toEqual([{ ...account, nextTicket: 2, burned: 1, journal: [], recoveryNeeded: true }]);
    expect(await code(restored.takeTicket(account.id, DIGEST_A))).toBe('recovery_needed');
    expect(await restored.updateAccount(account.id, { nextTicket: 3, recoveryNeeded: false })).not.toHaveProperty('recoveryNeeded');
    expect((await restored.takeTicket(account.id, DIGEST_A)).ticket).toBe(3);
    // A file whose counters the caller has just recovered is usable at once.
    const fresh = await Vault.restore(new MemoryVaultStorage(), text, PASS, { recovered: true });
    expect(fresh.accounts()).toEqual([{ ...account, nextTicket: 2, burned: 1, journal: [] }]);
    // Credits read by older code paths still come out of a version 2 file.
    expect(await readBackup(text, PASS)).toEqual([]);
  });

  it('the master alone is enough to derive the accounts again', async () => {
    const storage = new MemoryVaultStorage();
    const vault = await Vault.create(storage, PASS);
    const master = await vault.masterSecret();
    const contents = await readBackupContents(vault.exportBackup(), PASS);
    expect(contents).toEqual({ credits: [], master: toFieldHex(master), accounts: [] });
    const restored = await Vault.restore(new MemoryVaultStorage(), vault.exportBackup(), PASS);
    expect(accountId(deriveAccountSecret(await restored.masterSecret(), 3))).toBe(accountId(deriveAccountSecret(master, 3)));
  });

  it('a version 1 backup (the web app’s) imports into a vault with accounts, which keeps them', async () => {
    const { vault, account } = await vaultWithAccount();
    const master = await vault.masterSecret();
    const result = await vault.importBackup(fixture.backup, fixture.passphrase);
    expect(result).toEqual({ added: fixture.records.length, updated: 0, accounts: { added: 0, updated: 0 } });
    expect(vault.list()).toEqual(fixture.records);
    expect(vault.accounts()).toEqual([account]);
    expect(await vault.masterSecret()).toBe(master);
  });

  it('import merges accounts by id: the larger counter wins, the backup’s in-flight tickets are burned; its master is adopted by a vault without one', async () => {
    const { vault, account } = await vaultWithAccount();
    const master = await vault.masterSecret();
    await vault.takeTicket(account.id, DIGEST_A); // in flight in the backup
    const backup = vault.exportBackup();
    await vault.settleTicket(account.id, 0, 'served');

    // A vault that only knew the account at ticket 0 and has no master: both come from the backup.
    const other = await Vault.create(new MemoryVaultStorage(), PASS);
    const stale = { ...account, id: 'e'.repeat(32) };
    await other.addAccounts([stale]);
    const result = await other.importBackup(backup, PASS);
    expect(result.accounts).toEqual({ added: 0, updated: 1 });
    // The backup shows the account used beyond what this vault knew: its counter needs recovery.
    expect(other.getAccount(stale.id)).toMatchObject({ nextTicket: 1, burned: 1, journal: [], recoveryNeeded: true });
    expect(await other.masterSecret()).toBe(master);

    // Importing into the original: its own journal is kept, the counter does not move back, and a
    // backup behind it says nothing new (no recovery needed).
    await vault.takeTicket(account.id, DIGEST_B);
    expect((await vault.importBackup(backup, PASS)).accounts).toEqual({ added: 0, updated: 0 });
    expect(vault.getAccount(account.id)).toMatchObject({ nextTicket: 2, journal: [{ ticket: 1, digest: DIGEST_B }] });
    expect(vault.getAccount(account.id)).not.toHaveProperty('recoveryNeeded');
  });

  it('an account from a vault with another master keeps working after import (its secret travels with it)', async () => {
    const { vault: theirs, account } = await vaultWithAccount();
    const mine = await Vault.create(new MemoryVaultStorage(), PASS);
    const myMaster = await mine.masterSecret();
    expect((await mine.importBackup(theirs.exportBackup(), PASS, { recovered: true })).accounts).toEqual({ added: 1, updated: 0 });
    expect(await mine.masterSecret()).toBe(myMaster);
    expect(mine.accounts()).toEqual([account]);
    expect((await mine.takeTicket(account.id, DIGEST_A)).ticket).toBe(0);
  });

  it('exportBackupAs re-encrypts credits, master and accounts to another passphrase', async () => {
    const { vault, account } = await vaultWithAccount();
    const text = await vault.exportBackupAs('another long passphrase');
    const contents = await readBackupContents(text, 'another long passphrase');
    expect(contents.master).toBe(toFieldHex(await vault.masterSecret()));
    expect(contents.accounts).toEqual([account]);
    expect(await code(readBackupContents(text, PASS))).toBe('backup_wrong_passphrase');
  });

  it('a vault without accounts or master still writes version 1 files', async () => {
    const vault = await Vault.unlock(new MemoryVaultStorage(fixture.indexedDb), fixture.passphrase);
    expect((JSON.parse(vault.exportBackup()) as { version: number }).version).toBe(1);
  });
});
