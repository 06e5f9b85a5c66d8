// Metered accounts in the vault: records sealed at rest beside flat ones, the lane journal (a call
// pending before it is sent, a position bound to one request hash, a state committed only for its
// own call), pending calls kept across a restart (unlike flat tickets, they are recovered, not
// burned), and backups: version 3 with metered accounts, versions 1 and 2 still written without
// them and still imported; a backup's metered accounts need recovery; merging keeps each lane's
// further copy.
import { describe, expect, it } from 'vitest';
import { isZkCreditsError } from '../src/errors.js';
import { accountId, deriveAccountSecret, toFieldHex } from '../src/index.js';
import {
  MemoryVaultStorage,
  Vault,
  commitLaneIn,
  genesisLanes,
  journalLaneIn,
  laneStandings,
  lanePendingEntry,
  mergeMeteredRecords,
  readBackupContents,
  type AccountRecord,
  type MeteredAccountRecord,
} from '../src/vault/index.js';

const PASS = 'correct horse battery';
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const SIG = { rx: 1n, ry: 2n, s: 3n };

function meteredAccount(master: bigint, j: number, id = (j + 0xa0).toString(16).padStart(32, '0')): MeteredAccountRecord {
  const k = deriveAccountSecret(master, j);
  return {
    id,
    kind: 'metered',
    accountId: toFieldHex(accountId(k)),
    secret: toFieldHex(k),
    index: j,
    status: 'open',
    chainId: 31337,
    contract: CONTRACT,
    dLane: 100_000,
    lanesLog2: 2,
    sLane: 500,
    cMax: 50_000,
    priceUnit: '1000000000000',
    expiryDay: 20_500,
    leafIndex: j,
    fromBlock: '1',
    lanes: genesisLanes(2),
    createdAt: 1_700_000_000_000 + j,
  };
}

function flatAccount(master: bigint, j: number): AccountRecord {
  const k = deriveAccountSecret(master, j);
  return {
    id: (j + 1).toString(16).padStart(32, '0'),
    kind: 'flat',
    accountId: toFieldHex(accountId(k)),
    secret: toFieldHex(k),
    index: j,
    status: 'open',
    chainId: 31337,
    contract: CONTRACT,
    tickets: 10,
    expiryDay: 20_500,
    leafIndex: j,
    fromBlock: '1',
    nextTicket: 0,
    journal: [],
    burned: 0,
    createdAt: 1_700_000_000_000 + j,
  };
}

const pendingAt = (lane: number, n: number, balance: number, x = 7n, nullifier = 0x99n + BigInt(lane * 1000 + n)) =>
  lanePendingEntry({ nullifier, x, next: { lane, balance, penalties: 0, n, salt: 0x5a17n }, sentAt: 1 });

async function code(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  const error = await (typeof promise === 'function' ? Promise.resolve().then(promise) : promise).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isZkCreditsError(error)).toBe(true);
  return (error as { code: string }).code;
}

describe('vault: metered accounts', () => {
  it('are sealed at rest beside flat accounts, which stay as they were; pending calls survive a restart', async () => {
    const storage = new MemoryVaultStorage();
    const vault = await Vault.create(storage, PASS);
    const master = await vault.masterSecret();
    const metered = meteredAccount(master, 1);
    await vault.addAccounts([flatAccount(master, 0)]);
    await vault.addMeteredAccounts([metered]);
    expect(vault.accounts().map((a) => a.kind)).toEqual(['flat']);
    expect(vault.meteredAccounts().map((a) => a.id)).toEqual([metered.id]);
    expect(JSON.stringify(storage.dump())).not.toContain(metered.secret.slice(2));
    expect(await code(vault.addAccounts([{ ...flatAccount(master, 2), id: metered.id }]))).toBe('invalid_account');

    await vault.journalLane(metered.id, 3, pendingAt(3, 1, 50_000));
    vault.lock();
    const reopened = await Vault.unlock(storage, PASS);
    expect(reopened.getMeteredAccount(metered.id)!.lanes[3]!.pending).toMatchObject({ next: { n: 1, balance: 50_000 } });
    expect(reopened.accounts()).toHaveLength(1);
  });

  it('binds a pending position to its request hash, and commits a state only for its own call', async () => {
    const record = meteredAccount(1n, 0);
    const journaled = journalLaneIn(record, 1, pendingAt(1, 1, 50_000));
    // Another request on the busy lane is refused; the same request at the same position may re-journal.
    expect(await code(() => journalLaneIn(journaled, 1, pendingAt(1, 1, 50_000, 8n)))).toBe('lane_busy');
    expect(journalLaneIn(journaled, 1, { ...pendingAt(1, 1, 50_000), sentAt: 2 }).lanes[1]!.pending!.sentAt).toBe(2);
    // Only the next position can be pending.
    expect(await code(() => journalLaneIn(record, 0, pendingAt(0, 2, 50_000)))).toBe('invalid_account');
    expect(await code(() => journalLaneIn({ ...record, status: 'revoked' }, 0, pendingAt(0, 1, 50_000)))).toBe('account_not_open');
    expect(await code(() => journalLaneIn({ ...record, recoveryNeeded: true }, 0, pendingAt(0, 1, 50_000)))).toBe('recovery_needed');

    expect(commitLaneIn(journaled, 1, 0x1n, { r: 10, p: 0, sig: SIG })).toEqual({ record: journaled, committed: false });
    const { record: committed, committed: ok } = commitLaneIn(journaled, 1, BigInt(journaled.lanes[1]!.pending!.nullifier), { r: 10, p: 3, sig: SIG, reason: 'spam' });
    expect(ok).toBe(true);
    expect(committed.lanes[1]).toEqual({ state: { kind: 'signed', opening: journaled.lanes[1]!.pending!.next, r: 10, p: 3, sig: { rx: toFieldHex(1n), ry: toFieldHex(2n), s: toFieldHex(3n) }, reason: 'spam' } });
    expect(laneStandings(committed)[1]).toMatchObject({ n: 1, balance: 50_010, penalties: 3, pending: false, frozen: false });
  });

  it('writes backup version 3 only with metered accounts; versions 1 and 2 still import; a backup’s metered accounts need recovery', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    expect(JSON.parse(vault.exportBackup())).toMatchObject({ version: 1 });
    const master = await vault.masterSecret();
    await vault.addAccounts([flatAccount(master, 0)]);
    const v2 = vault.exportBackup();
    expect(JSON.parse(v2)).toMatchObject({ version: 2 });
    expect(JSON.parse(v2)).not.toHaveProperty('metered');
    const metered = meteredAccount(master, 1);
    await vault.addMeteredAccounts([metered]);
    await vault.journalLane(metered.id, 0, pendingAt(0, 1, 50_000));
    const v3 = vault.exportBackup();
    expect(JSON.parse(v3)).toMatchObject({ version: 3, accounts: [{ id: flatAccount(master, 0).id }], metered: [{ id: metered.id }] });
    expect((await readBackupContents(v3, PASS)).metered).toEqual([vault.getMeteredAccount(metered.id)]);

    // Restored elsewhere: the master, the flat and the metered account, the last one recoveryNeeded, its pending call kept.
    const restored = await Vault.restore(new MemoryVaultStorage(), v3, PASS);
    expect(await restored.masterSecret()).toBe(master);
    expect(restored.getMeteredAccount(metered.id)).toMatchObject({ recoveryNeeded: true, lanes: [{ pending: { next: { n: 1 } } }, {}, {}, {}] });
    // Re-encrypted under another passphrase, still version 3.
    expect(JSON.parse(await vault.exportBackupAs('another long passphrase'))).toMatchObject({ version: 3 });

    // A version 2 backup imports into a vault with metered accounts, which keeps them.
    const other = await Vault.create(new MemoryVaultStorage(), PASS);
    await other.addMeteredAccounts([meteredAccount(await other.masterSecret(), 0)]);
    const result = await other.importBackup(v2, PASS);
    expect(result).toEqual({ added: 0, updated: 0, accounts: { added: 1, updated: 0 } });
    expect(other.meteredAccounts()).toHaveLength(1);
    // The version 3 file adds its metered account there (recoveryNeeded).
    expect((await other.importBackup(v3, PASS)).metered).toEqual({ added: 1, updated: 0 });
    expect(other.meteredAccounts().find((a) => a.accountId === metered.accountId)).toMatchObject({ recoveryNeeded: true });
  });

  it('merges two copies lane by lane: the further position wins, a settled state beats its pending call, an ahead copy not recovered asks for recovery', () => {
    const base = meteredAccount(1n, 0);
    const pending = journalLaneIn(base, 0, pendingAt(0, 1, 50_000));
    const settled = commitLaneIn(pending, 0, BigInt(pending.lanes[0]!.pending!.nullifier), { r: 5, p: 0, sig: SIG }).record;
    const further = journalLaneIn(settled, 0, pendingAt(0, 2, 5, 9n));
    // The same position: the settled copy wins either way.
    expect(mergeMeteredRecords(pending, settled).lanes[0]).toEqual(settled.lanes[0]);
    expect(mergeMeteredRecords(settled, pending).lanes[0]).toEqual(settled.lanes[0]);
    // A further copy wins; not recovered, it makes the account recoveryNeeded.
    expect(mergeMeteredRecords(settled, further).lanes[0]).toEqual(further.lanes[0]);
    expect(mergeMeteredRecords(settled, { ...further, recoveryNeeded: true }).recoveryNeeded).toBe(true);
    expect(mergeMeteredRecords(further, { ...settled, recoveryNeeded: true }).recoveryNeeded).toBeUndefined();
    // A stale lane stays stale.
    expect(mergeMeteredRecords(settled, { ...settled, lanes: settled.lanes.map((l, i) => (i === 2 ? { ...l, stale: true as const } : l)) }).lanes[2]).toMatchObject({ stale: true });
  });
});
