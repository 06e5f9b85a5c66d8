// Revocation from two shares, against a real store: recover k, refuse every nullifier the account
// can have, keep the evidence. When the contract cannot be read, all 65,535 possible tickets.
import { MAX_TICKETS, accountId, initPoseidon2, meteredNullifier, meteredShare, ticketNullifier, ticketShare, utcDay } from '@zkcredits/core';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractAccounts } from '../src/chain/accounts.js';
import { createLogger } from '../src/logger.js';
import type { Store } from '../src/store/index.js';
import { METERED_REVOKED_MARGIN, Revoker } from '../src/tickets/revocation.js';
import { LogCapture } from './helpers/stack.js';
import { makeStoreFactory, type StoreFactory } from './helpers/stores.js';

const deployment = { chainId: 31337, contract: '0x00000000000000000000000000000000000000aa' as const, deploymentBlock: 10n, emptyRoot: 0xe0n };
const NOW = 1_760_000_000_000;

describe('revocation', () => {
  let factory: StoreFactory;
  let store: Store;
  beforeAll(async () => {
    await initPoseidon2();
    factory = await makeStoreFactory('sqlite');
    store = factory.open();
    await store.init(deployment);
  });
  afterAll(async () => {
    await store?.close();
    await factory?.cleanup();
  });

  it('refuses all 65,535 possible nullifiers when the contract cannot be read, keeps the evidence, and logs the account id but never k', async () => {
    const k = 0x1234_5678_9abc_def0_1234n;
    const x1 = 111n;
    const x2 = 222n;
    const s1 = ticketShare(k, 7, x1);
    const s2 = ticketShare(k, 7, x2);
    const logs = new LogCapture();
    let revoked = 0;
    const revoker = new Revoker({
      store,
      // A real reader of a node that is not there: the read fails, and revocation must not depend on it.
      accounts: contractAccounts(createPublicClient({ transport: http('http://127.0.0.1:1', { retryCount: 0 }) }), deployment.contract),
      ttlDays: () => 365,
      graceDays: 7,
      onRevoked: () => revoked++,
      logger: createLogger({ level: 'debug', destination: logs }),
      now: () => NOW,
    });
    await revoker.revoke({ nullifier: s1.nullifier, x1, y1: s1.y, x2, y2: s2.y });
    expect(revoked).toBe(1);
    const id = accountId(k);
    expect(await store.isAccountRevoked(id)).toBe(true);
    for (const i of [0, 1, 7, 4096, MAX_TICKETS - 1]) expect((await store.lookupTicket(ticketNullifier(k, i))).revoked).toBe(true);
    expect(await store.getEvidence(s1.nullifier)).toMatchObject({ accountId: id, x1, y1: s1.y, x2, y2: s2.y, slashState: 'pending' });
    // Unknown expiry: kept until today + TTL + grace, then forgotten.
    expect(await store.deleteRevokedNullifiersBefore(utcDay(NOW) + 365 + 7)).toBe(0);
    expect(await store.deleteRevokedNullifiersBefore(utcDay(NOW) + 365 + 8)).toBe(MAX_TICKETS);

    // The same account caught again: the evidence is added, the account is not recomputed.
    const s3 = ticketShare(k, 8, 333n);
    const s4 = ticketShare(k, 8, 444n);
    await revoker.revoke({ nullifier: s3.nullifier, x1: 333n, y1: s3.y, x2: 444n, y2: s4.y });
    expect(await store.getEvidence(s3.nullifier)).toMatchObject({ accountId: id });
    expect(revoked).toBe(2);

    expect(logs.text).toContain(`0x${id.toString(16).padStart(64, '0')}`);
    for (const secret of [k, s1.y, s2.y, s3.y, s4.y]) {
      expect(logs.text).not.toContain(secret.toString(16));
      expect(logs.text).not.toContain(secret.toString());
    }
  });

  it('refuses shares that do not belong to one ticket (internal_error), revoking nothing', async () => {
    const k = 0x77n;
    const s1 = ticketShare(k, 1, 5n);
    const revoker = new Revoker({ store, accounts: undefined, ttlDays: () => null, graceDays: 7, logger: createLogger({ level: 'silent' }), now: () => NOW });
    await expect(revoker.revoke({ nullifier: s1.nullifier, x1: 5n, y1: s1.y, x2: 6n, y2: s1.y + 1n })).rejects.toMatchObject({ code: 'internal_error' });
    expect(await store.isAccountRevoked(accountId(k))).toBe(false);
  });

  it('refuses a metered account\'s used lanes up to the last position seen plus a margin, and every other lane\'s genesis', async () => {
    const k = 0xfeed_beef_1234n;
    // Lane 2 was used for positions 0..69 (one walk step and a bit), the evidence is at position 69.
    for (let n = 0; n < 70; n++) await store.reserveMetered({ nullifier: meteredNullifier(k, 2, n), x: 1000n + BigInt(n), y: 1n, cmNew: 1n, cMax: 10, replica: 'r' }, NOW);
    const s1 = meteredShare(k, 2, 69, 1069n);
    const s2 = meteredShare(k, 2, 69, 5n);
    const revoker = new Revoker({ store, accounts: undefined, ttlDays: () => 365, graceDays: 7, logger: createLogger({ level: 'silent' }), now: () => NOW });
    await revoker.revoke({ nullifier: s1.nullifier, x1: 1069n, y1: s1.y, x2: 5n, y2: s2.y }, 'metered');
    expect(await store.isAccountRevoked(accountId(k))).toBe(true);
    const revoked = async (lane: number, n: number) => (await store.lookupTicket(meteredNullifier(k, lane, n))).revoked;
    for (const n of [0, 69, 70, 69 + METERED_REVOKED_MARGIN]) expect(await revoked(2, n)).toBe(true);
    expect(await revoked(2, 70 + METERED_REVOKED_MARGIN + 64)).toBe(false);
    for (const lane of [0, 1, 3, 7]) {
      expect(await revoked(lane, 0)).toBe(true);
      expect(await revoked(lane, 1000)).toBe(false);
    }
    // The positions seen stay seen; the next reservations on the account are refused.
    expect(await store.reserveMetered({ nullifier: meteredNullifier(k, 2, 70), x: 9n, y: 9n, cmNew: 1n, cMax: 10, replica: 'r' }, NOW)).toEqual({ ok: false, state: 'revoked' });
  });
});
