// The v2 ticket tables in both dialects: the one-ticket-one-request state machine, revocation,
// evidence and its slash lease, the /spent listing and retention.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketState, type Evidence, type Revocation, type Store } from '../src/store/index.js';
import { makeStoreFactory, STORE_KINDS, type StoreFactory } from './helpers/stores.js';

const deployment = { chainId: 31337, contract: '0x00000000000000000000000000000000000000aa' as const, deploymentBlock: 10n, emptyRoot: 0xe0n };
const now = 1_700_000_000_000;
const TTL = 60_000;
const cooldown = (t: number) => ({ now: t, after: 3 });
const ticket = (nullifier: bigint, x: bigint, y = x + 1000n) => ({ nullifier, x, y });
const evidence = (nullifier: bigint): Evidence => ({ nullifier, x1: 1n, y1: 2n, x2: 3n, y2: 4n });

function revocation(accountId: bigint, nullifiers: bigint[], ev: Evidence, keepUntilDay = 20_000): Revocation {
  return { accountId, tickets: nullifiers.length, expiryDay: keepUntilDay - 7, keepUntilDay, nullifiers, evidence: ev, now };
}

describe.each(STORE_KINDS)('%s store: v2 tickets', (kind) => {
  const factories: StoreFactory[] = [];
  const opened: Store[] = [];
  async function fresh(): Promise<{ store: Store; factory: StoreFactory }> {
    const factory = await makeStoreFactory(kind);
    factories.push(factory);
    const store = factory.open();
    opened.push(store);
    await store.init(deployment);
    return { store, factory };
  }
  let s: Store;
  beforeAll(async () => {
    ({ store: s } = await fresh());
  });
  afterAll(async () => {
    for (const o of opened) await o.close().catch(() => {});
    for (const f of factories) await f.cleanup();
  });

  it('lets exactly one of 50 concurrent reservations of a new ticket win; the others see it in use', async () => {
    const t = ticket(0x1001n, 7n);
    const results = await Promise.all(Array.from({ length: 50 }, () => s.reserveTicket(t, randomUUID(), now, TTL)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.state === 'in_use')).toHaveLength(49);
  });

  it('refuses a served ticket for the same request (spent) and never serves it again', async () => {
    const t = ticket(0x1002n, 7n);
    expect(await s.reserveTicket(t, 'a', now, TTL)).toEqual({ ok: true });
    expect(await s.commitTicket(t.nullifier, 'not-the-holder', now)).toBe(false);
    expect(await s.commitTicket(t.nullifier, 'a', now)).toBe(true);
    expect(await s.reserveTicket(t, 'b', now + 10 ** 9, TTL)).toEqual({ ok: false, state: 'spent' });
    expect(await s.releaseTicket(t.nullifier, 'a', cooldown(now))).toBe(false);
    const { ticket: row } = await s.lookupTicket(t.nullifier);
    expect(row).toMatchObject({ x: 7n, y: t.y, status: 'spent', firstSeen: now });
    expect(ticketState(row, 7n, now)).toEqual({ state: 'spent' });
  });

  it('keeps the share of an unserved ticket and serves it again only for the same request', async () => {
    const t = ticket(0x1003n, 7n);
    await s.reserveTicket(t, 'a', now, TTL);
    expect(await s.releaseTicket(t.nullifier, 'a', cooldown(now))).toBe(true);
    // Nothing was dropped: the row and its (x, y) stay.
    const { ticket: row } = await s.lookupTicket(t.nullifier);
    expect(row).toEqual({ x: 7n, y: t.y, status: 'unserved', expiresAt: null, firstSeen: now });
    // Another request with this ticket is the second share: the first one comes back as evidence.
    expect(await s.reserveTicket(ticket(t.nullifier, 8n, 9n), 'b', now + 1, TTL)).toEqual({ ok: false, state: 'conflict', x: 7n, y: t.y });
    expect(await s.reserveTicket(t, 'c', now + 2, TTL)).toEqual({ ok: true });
    expect(await s.commitTicket(t.nullifier, 'c', now + 3)).toBe(true);
    expect((await s.lookupTicket(t.nullifier)).ticket).toMatchObject({ x: 7n, y: t.y, status: 'spent', firstSeen: now });
  });

  it('lets a crashed holder\'s reservation be taken over for the same request once its lease ran out, then refuses the old holder', async () => {
    const t = ticket(0x1004n, 7n);
    await s.reserveTicket(t, 'crashed', now, 1000);
    expect(await s.reserveTicket(t, 'b', now + 999, 1000)).toEqual({ ok: false, state: 'in_use' });
    expect(await s.reserveTicket(ticket(t.nullifier, 9n), 'c', now + 999, 1000)).toMatchObject({ ok: false, state: 'conflict', x: 7n });
    expect(await s.reserveTicket(t, 'b', now + 1000, 1000)).toEqual({ ok: true });
    expect(await s.commitTicket(t.nullifier, 'crashed', now + 1001)).toBe(false);
    expect(await s.commitTicket(t.nullifier, 'b', now + 1001)).toBe(true);
    // The expired-reservation sweep of v1 never touches tickets.
    expect(await s.releaseExpired(now + 10 ** 9)).toBe(0);
  });

  it('cools an unserved ticket down from the third release on, for the same request only', async () => {
    const t = ticket(0x1005n, 7n);
    let at = now;
    for (let i = 0; i < 3; i++) {
      expect(await s.reserveTicket(t, `h${i}`, at, TTL)).toEqual({ ok: true });
      expect(await s.releaseTicket(t.nullifier, `h${i}`, cooldown(at))).toBe(true);
    }
    expect(await s.reserveTicket(t, 'early', at + 999, TTL)).toEqual({ ok: false, state: 'cooling', until: at + 1000 });
    expect(ticketState((await s.lookupTicket(t.nullifier)).ticket, 7n, at)).toEqual({ state: 'cooling', until: at + 1000 });
    at += 1000;
    expect(await s.reserveTicket(t, 'on-time', at, TTL)).toEqual({ ok: true });
  });

  it('revokes an account in one step: every nullifier refused, before and inside a reservation, evidence kept pending', async () => {
    const { store } = await fresh();
    const account = 0xacc1n;
    const nfs = [0x2001n, 0x2002n, 0x2003n];
    expect(await store.isAccountRevoked(account)).toBe(false);
    expect(await store.revokeAccount(revocation(account, nfs, evidence(0x2001n)))).toBe(true);
    expect(await store.isAccountRevoked(account)).toBe(true);
    for (const nf of nfs) {
      expect((await store.lookupTicket(nf)).revoked).toBe(true);
      expect(await store.reserveTicket(ticket(nf, 5n), 'x', now, TTL)).toEqual({ ok: false, state: 'revoked' });
    }
    expect(await store.lookupTicket(0x2004n)).toEqual({ revoked: false, ticket: null });
    // A second piece of evidence for the same account adds evidence, not the account again.
    expect(await store.revokeAccount(revocation(account, [], evidence(0x2002n)))).toBe(false);
    expect(await store.revokeAccount(revocation(account, nfs, evidence(0x2001n)))).toBe(false);
    expect(await store.getEvidence(0x2001n)).toEqual({
      ...evidence(0x2001n),
      accountId: account,
      foundAt: now,
      slashState: 'pending',
      slashTx: null,
      slashError: null,
      slashAttempts: 0,
    });
    expect((await store.unsettledSlashes(now, 10)).map((e) => e.nullifier)).toEqual([0x2001n, 0x2002n]);
  });

  it('leases a slash to exactly one of several concurrent claimants, keeps the lease while the transaction is out, and hands it over once the lease ran out', async () => {
    const { store } = await fresh();
    await store.revokeAccount(revocation(0xacc2n, [0x3001n], evidence(0x3001n)));
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claimSlash(0x3001n, `replica-${i}`, now, 1000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    const owner = `replica-${claims.indexOf(true)}`;
    expect(await store.unsettledSlashes(now + 999, 10)).toEqual([]);
    const tx = `0x${'ab'.repeat(32)}` as const;
    expect(await store.markSlashSent(0x3001n, 'someone-else', tx, now)).toBe(false);
    expect(await store.markSlashSent(0x3001n, owner, tx, now)).toBe(true);
    expect(await store.claimSlash(0x3001n, 'late', now + 999, 1000)).toBe(false);
    // The holder crashed: once its lease ran out another replica takes over, and sees the transaction.
    const [due] = await store.unsettledSlashes(now + 1000, 10);
    expect(due).toMatchObject({ nullifier: 0x3001n, slashState: 'sent', slashTx: tx, slashAttempts: 1 });
    expect(await store.claimSlash(0x3001n, 'late', now + 1000, 1000)).toBe(true);
    expect(await store.recordSlash(0x3001n, owner, { state: 'slashed' }, now + 1001)).toBe(false);
    expect(await store.recordSlash(0x3001n, 'late', { state: 'slashed' }, now + 1001)).toBe(true);
    expect(await store.getEvidence(0x3001n)).toMatchObject({ slashState: 'slashed', slashTx: tx, slashAttempts: 2 });
    expect(await store.unsettledSlashes(now + 10 ** 9, 10)).toEqual([]);
    expect(await store.claimSlash(0x3001n, 'again', now + 10 ** 9, 1000)).toBe(false);
  });

  it('lists every seen nullifier of a prefix bucket, any status, ascending, in pages after a cursor', async () => {
    const { store } = await fresh();
    const hex = (d: string, n: number) => BigInt(`0x${d}${n.toString(16).padStart(63, '0')}`);
    const inBucket = [hex('1', 5), hex('1', 1), hex('1', 3), hex('1', 0), hex('1', 0xfff)];
    const others = [hex('0', 9), hex('2', 0), 0x1n];
    for (const nf of [...inBucket, ...others]) await store.reserveTicket(ticket(nf, 7n), 't', now, TTL);
    await store.commitTicket(inBucket[0]!, 't', now);
    await store.releaseTicket(inBucket[1]!, 't', cooldown(now));
    // Revoked (precomputed, never seen) nullifiers are not listed.
    await store.revokeAccount(revocation(0xacc3n, [hex('1', 2)], evidence(hex('1', 2))));
    const sorted = [...inBucket].sort((a, b) => (a < b ? -1 : 1));
    expect(await store.seenNullifiers('1', undefined, 100)).toEqual(sorted);
    expect(await store.seenNullifiers('1', undefined, 2)).toEqual(sorted.slice(0, 2));
    expect(await store.seenNullifiers('1', sorted[1], 2)).toEqual(sorted.slice(2, 4));
    expect(await store.seenNullifiers('1', sorted[4], 2)).toEqual([]);
    expect(await store.seenNullifiers('0', undefined, 100)).toEqual([0x1n, hex('0', 9)]);
    expect(await store.seenNullifiers('f', undefined, 100)).toEqual([]);
    await expect(store.seenNullifiers("1' OR 1=1 --", undefined, 10)).rejects.toThrow(RangeError);
  });

  it('forgets tickets first seen before the cutoff and revoked nullifiers kept until before a day, never the evidence', async () => {
    const { store } = await fresh();
    await store.reserveTicket(ticket(0x4001n, 7n), 'a', now - 10, TTL);
    await store.reserveTicket(ticket(0x4002n, 7n), 'b', now, TTL);
    await store.commitTicket(0x4001n, 'a', now);
    await store.revokeAccount(revocation(0xacc4n, [0x4101n, 0x4102n], evidence(0x4101n), 20_000));
    await store.revokeAccount(revocation(0xacc5n, [0x4201n], evidence(0x4201n), 20_001));

    expect(await store.deleteTicketsSeenBefore(now)).toBe(1);
    expect((await store.lookupTicket(0x4001n)).ticket).toBeNull();
    expect((await store.lookupTicket(0x4002n)).ticket).not.toBeNull();

    expect(await store.deleteRevokedNullifiersBefore(20_000)).toBe(0); // kept through day 20,000
    expect(await store.deleteRevokedNullifiersBefore(20_001)).toBe(2);
    expect((await store.lookupTicket(0x4101n)).revoked).toBe(false);
    expect((await store.lookupTicket(0x4201n)).revoked).toBe(true);
    expect(await store.getEvidence(0x4101n)).toMatchObject({ accountId: 0xacc4n });
    expect(await store.isAccountRevoked(0xacc4n)).toBe(true);
  });

  it('stores a revoked account of 65,535 nullifiers in one transaction', async () => {
    const { store } = await fresh();
    const nfs = Array.from({ length: 65_535 }, (_, i) => 0x5000_0000n + BigInt(i));
    expect(await store.revokeAccount(revocation(0xacc6n, nfs, evidence(nfs[0]!)))).toBe(true);
    expect((await store.lookupTicket(nfs[65_534]!)).revoked).toBe(true);
    expect(await store.deleteRevokedNullifiersBefore(10 ** 9)).toBe(65_535);
  });
});

