// The metered-call tables in both dialects: one reservation per nullifier (shared with flat
// tickets), exactly one signed state per reservation even with two replicas racing, the public
// penalty log, recovery queries and retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeteredOutcome, MeteredReservation, Store } from '../src/store/index.js';
import { makeStoreFactory, STORE_KINDS, type StoreFactory } from './helpers/stores.js';

const deployment = { chainId: 31337, contract: '0x00000000000000000000000000000000000000aa' as const, deploymentBlock: 10n, emptyRoot: 0xe0n };
const now = 1_700_000_000_000;
const C_MAX = 50_000;

const call = (nullifier: bigint, x = 7n, replica = 'replica-a'): MeteredReservation => ({ nullifier, x, y: x + 1000n, cmNew: nullifier + 0xc0n, cMax: C_MAX, replica });
const outcome = (r: number, p = 0, reason: string | null = null): MeteredOutcome => ({ r, p, sig: { rx: BigInt(r) + 1n, ry: BigInt(r) + 2n, s: BigInt(r) + 3n }, reason, responseStatus: 200 });

describe.each(STORE_KINDS)('%s store: v2 metered calls', (kind) => {
  let factory: StoreFactory;
  let s: Store;
  /**
   * Another replica: a second pool on the same PostgreSQL database. (SQLite serves one process;
   * two synchronous handles in one thread would wait on each other's file lock.)
   */
  let other: Store;
  beforeAll(async () => {
    factory = await makeStoreFactory(kind);
    s = factory.open();
    other = kind === 'postgres' ? factory.open() : s;
    await s.init(deployment);
    await other.init(deployment);
  });
  afterAll(async () => {
    await s?.close();
    if (other !== s) await other?.close();
    await factory?.cleanup();
  });

  it('reserves a new nullifier for exactly one of 50 concurrent callers on two replicas; the rest see it seen, unsigned', async () => {
    const c = call(0x1001n);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? other : s).reserveMetered(c, now)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    for (const r of results.filter((x) => !x.ok)) expect(r).toMatchObject({ ok: false, state: 'seen', record: { nullifier: c.nullifier, signed: null } });
    expect(await s.meteredRecord(c.nullifier)).toEqual({ ...c, reservedAt: now, signed: null });
    // The nullifier is one of the seen tickets (same space as flat tickets), never served twice.
    expect((await s.lookupTicket(c.nullifier)).ticket).toMatchObject({ x: 7n, y: c.y, status: 'spent', firstSeen: now });
    expect(await s.seenNullifiers('0', undefined, 100)).toContain(c.nullifier);
  });

  it('returns the stored share for another request (evidence) and refuses a revoked nullifier', async () => {
    const c = call(0x1002n);
    expect(await s.reserveMetered(c, now)).toEqual({ ok: true });
    expect(await s.reserveMetered({ ...call(0x1002n, 8n), y: 99n }, now)).toEqual({ ok: false, state: 'conflict', x: 7n, y: c.y });
    await s.revokeAccount({
      accountId: 0xacc1n,
      tickets: 1,
      expiryDay: 20_000,
      keepUntilDay: 20_007,
      nullifiers: [0x1003n],
      evidence: { nullifier: 0x1003n, x1: 1n, y1: 2n, x2: 3n, y2: 4n },
      now,
    });
    expect(await s.reserveMetered(call(0x1003n), now)).toEqual({ ok: false, state: 'revoked' });
    expect(await s.meteredRecord(0x1003n)).toBeNull();
    // A flat ticket seen with the same request hash: seen, with no metered record.
    await s.reserveTicket({ nullifier: 0x1004n, x: 7n, y: 1n }, 'flat', now, 60_000);
    expect(await s.reserveMetered(call(0x1004n), now)).toEqual({ ok: false, state: 'seen', record: null });
  });

  it('stores exactly one state per reservation: of two replicas signing at once one wins, and both get the stored state', async () => {
    for (let i = 0; i < 10; i++) {
      const c = call(0x2000n + BigInt(i));
      await s.reserveMetered(c, now);
      const [a, b] = await Promise.all([s.signMetered(c.nullifier, outcome(100), now + 1), other.signMetered(c.nullifier, outcome(C_MAX), now + 2)]);
      expect([a.won, b.won].filter(Boolean)).toHaveLength(1);
      expect(a.record).toEqual(b.record);
      const winner = a.won ? outcome(100) : outcome(C_MAX);
      expect(a.record.signed).toEqual({ ...winner, signedAt: a.won ? now + 1 : now + 2 });
      // Later signers get the stored one too; nothing changes it.
      const late = await s.signMetered(c.nullifier, outcome(1), now + 3);
      expect(late).toEqual({ won: false, record: a.record });
      expect(await s.meteredRecord(c.nullifier)).toEqual(a.record);
    }
    await expect(s.signMetered(0xdeadn, outcome(1), now)).rejects.toThrow(/no metered call is reserved/);
    expect(await s.reserveMetered(call(0x2000n), now + 10)).toMatchObject({ ok: false, state: 'seen', record: { signed: { r: expect.any(Number) } } });
  });

  it('logs each penalty once, in the order the states were signed, and pages the log after a seq', async () => {
    const before = await s.penalties(0, 1000);
    const nfs = Array.from({ length: 6 }, (_, i) => 0x3000n + BigInt(i));
    for (const nf of nfs) await s.reserveMetered(call(nf), now);
    // Concurrent penalty signers on two replicas, plus a losing second signer per call.
    const signed = await Promise.all(
      nfs.flatMap((nf, i) => [
        (i % 2 ? other : s).signMetered(nf, outcome(C_MAX, 1000 + i, 'spam'), now + i, { evidenceHash: `${i}`.repeat(64).slice(0, 64) }),
        (i % 2 ? s : other).signMetered(nf, outcome(C_MAX, 1000 + i, 'spam'), now + i, { evidenceHash: 'f'.repeat(64) }),
      ]),
    );
    expect(signed.filter((x) => x.won)).toHaveLength(nfs.length);
    // A refund without penalty is not logged.
    await s.reserveMetered(call(0x3100n), now);
    await s.signMetered(0x3100n, outcome(10), now);

    const log = (await s.penalties(0, 1000)).slice(before.length);
    expect(log.map((e) => e.nullifier).sort()).toEqual([...nfs].sort());
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => (before.at(-1)?.seq ?? 0) + i + 1));
    for (const e of log) {
      const i = Number(e.nullifier - 0x3000n);
      expect(e).toMatchObject({ p: 1000 + i, reason: 'spam', createdAt: now + i });
      expect(e.evidenceHash).toMatch(/^[0-9f]{64}$/);
    }
    const first = log[0]!.seq;
    expect((await s.penalties(first, 2)).map((e) => e.seq)).toEqual([first + 1, first + 2]);
    expect(await s.penalties(first + 100, 10)).toEqual([]);
  });

  it('lists unsigned reservations of one replica, or reserved before a time, oldest first', async () => {
    const fresh = await makeStoreFactory(kind);
    const st = fresh.open();
    try {
      await st.init(deployment);
      await st.reserveMetered(call(0x4001n, 7n, 'a'), now + 2);
      await st.reserveMetered(call(0x4002n, 7n, 'b'), now + 1);
      await st.reserveMetered(call(0x4003n, 7n, 'a'), now);
      await st.reserveMetered(call(0x4004n, 7n, 'a'), now);
      await st.signMetered(0x4004n, outcome(1), now);
      expect((await st.unsignedMetered({ replica: 'a' }, 10)).map((r) => r.nullifier)).toEqual([0x4003n, 0x4001n]);
      expect((await st.unsignedMetered({ reservedBefore: now + 2 }, 10)).map((r) => r.nullifier)).toEqual([0x4003n, 0x4002n]);
      expect((await st.unsignedMetered({}, 1)).map((r) => r.nullifier)).toEqual([0x4003n]);
      expect(await st.unsignedMetered({ replica: 'c' }, 10)).toEqual([]);
    } finally {
      await st.close();
      await fresh.cleanup();
    }
  });

  it('forgets metered states with their tickets, never the penalty log', async () => {
    const fresh = await makeStoreFactory(kind);
    const st = fresh.open();
    try {
      await st.init(deployment);
      await st.reserveMetered(call(0x5001n), now - 10);
      await st.signMetered(0x5001n, outcome(C_MAX, 5, 'spam'), now, { evidenceHash: 'a'.repeat(64) });
      await st.reserveMetered(call(0x5002n), now);
      expect(await st.deleteTicketsSeenBefore(now)).toBe(1);
      expect(await st.meteredRecord(0x5001n)).toBeNull();
      expect(await st.meteredRecord(0x5002n)).not.toBeNull();
      expect(await st.penalties(0, 10)).toEqual([{ seq: 1, nullifier: 0x5001n, p: 5, reason: 'spam', evidenceHash: 'a'.repeat(64), createdAt: now }]);
      // Init again (a restart) keeps the log's counter.
      await st.init(deployment);
      await st.reserveMetered(call(0x5003n), now);
      await st.signMetered(0x5003n, outcome(C_MAX, 6, 'spam'), now, { evidenceHash: 'b'.repeat(64) });
      expect((await st.penalties(0, 10)).map((e) => e.seq)).toEqual([1, 2]);
    } finally {
      await st.close();
      await fresh.cleanup();
    }
  });
});
