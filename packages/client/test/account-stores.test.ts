// The AccountStore side of both client stores (memory, and core's vault): the master secret is
// made once, tickets come from core's journal rules (distinct under concurrency, settled, the
// counter only moving forward), and a store loaded by a new process burns what was in flight.
import { accountId, deriveAccountSecret, initPoseidon2, toFieldHex, type AccountRecord } from '@zkcredits/core';
import { MemoryVaultStorage, Vault } from '@zkcredits/core/vault';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, VaultCreditStore, type CreditStore } from '../src/index.js';

const PASS = 'a long enough passphrase';

function account(master: bigint, tickets = 30): AccountRecord {
  const k = deriveAccountSecret(master, 0);
  return {
    id: 'a'.repeat(32),
    kind: 'flat',
    accountId: toFieldHex(accountId(k)),
    secret: toFieldHex(k),
    index: 0,
    status: 'open',
    chainId: 31337,
    contract: `0x${'ab'.repeat(20)}`,
    tickets,
    expiryDay: 30_000,
    leafIndex: 0,
    fromBlock: '1',
    nextTicket: 0,
    journal: [],
    burned: 0,
    createdAt: 1,
  };
}

const digest = (i: number) => i.toString(16).padStart(64, '0');

const stores: [string, () => Promise<{ store: CreditStore; restart(): Promise<CreditStore> }>][] = [
  [
    'MemoryCreditStore',
    async () => {
      const store = new MemoryCreditStore();
      return { store, restart: async () => new MemoryCreditStore([], { master: await store.masterSecret(), accounts: await store.listAccounts() }) };
    },
  ],
  [
    'VaultCreditStore',
    async () => {
      const storage = new MemoryVaultStorage();
      const vault = await Vault.create(storage, PASS);
      return {
        store: new VaultCreditStore(vault),
        restart: async () => {
          vault.lock();
          return new VaultCreditStore(await Vault.unlock(storage, PASS));
        },
      };
    },
  ],
];

beforeAll(async () => {
  await initPoseidon2();
});

describe.each(stores)('%s accounts', (_name, make) => {
  it('makes the master once and hands out each ticket once, however many ask at once', async () => {
    const { store } = await make();
    const master = await store.masterSecret();
    expect(await store.masterSecret()).toBe(master);
    const a = account(master);
    await store.addAccounts([a]);
    const tickets = await Promise.all(Array.from({ length: 20 }, (_, i) => store.takeTicket(a.id, digest(i)).then((t) => t.ticket)));
    expect([...tickets].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await store.settleTicket(a.id, 3, 'served')).toMatchObject({ nextTicket: 20, burned: 0 });
    expect((await store.settleTicket(a.id, 4, 'burned')).journal).toHaveLength(18);
    expect(await store.updateAccount(a.id, { nextTicket: 2 })).toMatchObject({ nextTicket: 20 });
  });

  it('a new process burns the tickets in flight and continues after them', async () => {
    const { store, restart } = await make();
    const a = account(await store.masterSecret());
    await store.addAccounts([a]);
    await store.takeTicket(a.id, digest(1));
    await store.takeTicket(a.id, digest(2));
    const next = await restart();
    expect((await next.listAccounts())[0]).toMatchObject({ nextTicket: 2, burned: 2, journal: [] });
    expect((await next.takeTicket(a.id, digest(1))).ticket).toBe(2);
  });

  it('refuses a ticket of an account that is not open', async () => {
    const { store } = await make();
    const a = { ...account(await store.masterSecret()), status: 'pending' as const };
    await store.addAccounts([a]);
    await expect(store.takeTicket(a.id, digest(1))).rejects.toMatchObject({ code: 'account_not_open' });
  });
});
