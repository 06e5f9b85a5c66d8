import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IndexerError } from '../src/errors.js';
import type { Cursor, Purchase, ReserveResult, Store } from '../src/store/index.js';
import type { RacerInput } from './helpers/reserve-racer.js';
import { makeStoreFactory, STORE_KINDS, type StoreFactory } from './helpers/stores.js';
import { resultOf, tsWorker } from './helpers/worker.js';

const deployment = { chainId: 31337, contract: '0x00000000000000000000000000000000000000aa' as const, deploymentBlock: 10n, emptyRoot: 0xe0n };
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as `0x${string}`;

function purchase(block: number, startIndex: number, count: number, root: bigint, logIndex = 0): Purchase {
  return {
    blockNumber: BigInt(block),
    blockHash: hash(block),
    logIndex,
    startIndex,
    commitments: Array.from({ length: count }, (_, i) => BigInt(1000 + startIndex + i)),
    newRoot: root,
  };
}

describe.each(STORE_KINDS)('%s store', (kind) => {
  let factory: StoreFactory;
  let store: Store;

  beforeAll(async () => {
    factory = await makeStoreFactory(kind);
  });
  afterAll(async () => {
    await factory.cleanup();
  });
  beforeEach(async () => {
    // The same database and deployment for every test (reopened): state carries over between
    // tests, so a test that needs a clean store takes its own database from freshStore().
    store = factory.open();
  });
  afterEach(async () => {
    await store.close();
  });

  async function freshStore(): Promise<Store> {
    return (await freshLocation()).store;
  }
  /** A new initialised database, its store, and where it is (SQLite file or PostgreSQL URL). */
  async function freshLocation(): Promise<{ store: Store; location: string }> {
    const f = await makeStoreFactory(kind);
    cleanups.push(f.cleanup);
    const s = f.open();
    await s.init(deployment);
    opened.push(s);
    return { store: s, location: f.env.ZKC_SQLITE_PATH ?? f.env.ZKC_DATABASE_URL! };
  }
  const cleanups: (() => Promise<void>)[] = [];
  const opened: Store[] = [];
  afterAll(async () => {
    for (const s of opened) await s.close().catch(() => {});
    for (const c of cleanups) await c();
  });

  it('starts at the block before deployment with only the empty root', async () => {
    await store.init(deployment);
    const cursor = await store.getCursor();
    expect(cursor).toEqual({ number: 9n, hash: null, leafCount: 0, rootCount: 1 });
    expect(await store.rootStatus(0xe0n, 64)).toEqual({ status: 'current', seq: 0 });
    expect(await store.recentRoots(64)).toEqual([0xe0n]);
  });

  it('refuses a database that belongs to another deployment', async () => {
    await store.init(deployment);
    const err = await store.init({ ...deployment, contract: '0x00000000000000000000000000000000000000bb' }).catch((e) => e);
    expect(err).toBeInstanceOf(IndexerError);
    expect(err.code).toBe('deployment_mismatch');
  });

  it('appends purchases and moves the cursor', async () => {
    const s = await freshStore();
    const c0 = await s.getCursor();
    const ok = await s.appendBlocks(c0, { to: { number: 12n, hash: hash(12) }, purchases: [purchase(11, 0, 3, 0xa1n), purchase(12, 3, 2, 0xa2n)] });
    expect(ok).toBe(true);
    const c1 = await s.getCursor();
    expect(c1).toEqual({ number: 12n, hash: hash(12), leafCount: 5, rootCount: 3 });
    expect(await s.getLeaves(0, 10)).toEqual([1000n, 1001n, 1002n, 1003n, 1004n]);
    expect(await s.getLeaves(3, 1)).toEqual([1003n]);
    expect(await s.getLeaves(5, 10)).toEqual([]);
    expect(await s.recentRoots(2)).toEqual([0xa2n, 0xa1n]);
  });

  it('refuses an append computed against a stale cursor (another replica moved it)', async () => {
    const s = await freshStore();
    const c0 = await s.getCursor();
    expect(await s.appendBlocks(c0, { to: { number: 11n, hash: hash(11) }, purchases: [purchase(11, 0, 1, 0xa1n)] })).toBe(true);
    expect(await s.appendBlocks(c0, { to: { number: 11n, hash: hash(11) }, purchases: [purchase(11, 0, 1, 0xa1n)] })).toBe(false);
    expect((await s.getCursor()).leafCount).toBe(1);
  });

  it('rejects a purchase that leaves a gap in the leaf indices', async () => {
    const s = await freshStore();
    const err = await s
      .appendBlocks(await s.getCursor(), { to: { number: 11n, hash: hash(11) }, purchases: [purchase(11, 5, 1, 0xa1n)] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(IndexerError);
    expect(err.code).toBe('leaf_gap');
    expect((await s.getCursor()).leafCount).toBe(0);
  });

  it('classifies roots as current, recent, expired and unknown against the window', async () => {
    const s = await freshStore();
    const purchases = Array.from({ length: 5 }, (_, i) => purchase(11 + i, i, 1, BigInt(0xb0 + i)));
    await s.appendBlocks(await s.getCursor(), { to: { number: 15n, hash: hash(15) }, purchases });
    // roots by seq: 0 = empty, 1..5 = 0xb0..0xb4; window 3 keeps seq 3,4,5
    expect(await s.rootStatus(0xb4n, 3)).toEqual({ status: 'current', seq: 5 });
    expect(await s.rootStatus(0xb2n, 3)).toEqual({ status: 'recent', seq: 3 });
    expect(await s.rootStatus(0xb1n, 3)).toEqual({ status: 'expired', seq: 2 });
    expect(await s.rootStatus(0xe0n, 3)).toEqual({ status: 'expired', seq: 0 });
    expect(await s.rootStatus(0xfffn, 3)).toEqual({ status: 'unknown' });
  });

  it('rolls back leaves, roots and block hashes after a reorg ancestor', async () => {
    const s = await freshStore();
    await s.appendBlocks(await s.getCursor(), {
      to: { number: 14n, hash: hash(14) },
      purchases: [purchase(11, 0, 2, 0xa1n), purchase(13, 2, 2, 0xa2n)],
    });
    const cursor = await s.getCursor();
    expect(await s.rollbackTo({ ...cursor, leafCount: 99 }, { number: 12n, hash: hash(12) })).toBe(false);
    expect(await s.rollbackTo(cursor, { number: 12n, hash: hash(12) })).toBe(true);
    expect(await s.getCursor()).toEqual({ number: 12n, hash: hash(12), leafCount: 2, rootCount: 2 });
    expect(await s.rootStatus(0xa2n, 64)).toEqual({ status: 'unknown' });
    expect(await s.getLeaves(0, 10)).toEqual([1000n, 1001n]);
    expect((await s.recentBlocks(100n, 10)).map((b) => b.number)).toEqual([11n]);
    // the empty root survives even a rollback to before deployment
    expect(await s.rollbackTo(await s.getCursor(), { number: 9n, hash: null })).toBe(true);
    expect(await s.recentRoots(10)).toEqual([0xe0n]);
  });

  describe('nullifiers', () => {
    const now = 1_700_000_000_000;

    it('lets exactly one of many concurrent reservations win', async () => {
      const s = await freshStore();
      const nh = 0x1234n;
      const results = await Promise.all(Array.from({ length: 50 }, () => s.reserve(nh, randomUUID(), now, 60_000)));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.state === 'reserved')).toHaveLength(49);
    });

    it('lets exactly one of four connections in four threads win each credit when they reserve it at the same instant', async () => {
      const { location } = await freshLocation();
      const PARTIES = 4;
      const nullifiers = Array.from({ length: 150 }, (_, i) => `0x${(0x5000 + i).toString(16)}`);
      const barrier = new SharedArrayBuffer(8);
      const workers = Array.from({ length: PARTIES }, (_, racer) =>
        tsWorker(new URL('./helpers/reserve-racer.ts', import.meta.url), { kind, location, racer, parties: PARTIES, barrier, nullifiers, now } satisfies RacerInput),
      );
      let results: ReserveResult[][];
      try {
        results = await Promise.all(workers.map((w) => resultOf<ReserveResult[]>(w)));
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
      for (const [i] of nullifiers.entries()) {
        const round = results.map((r) => r[i]!);
        expect(round.filter((r) => r.ok)).toHaveLength(1);
        expect(round.filter((r) => !r.ok && r.state === 'reserved')).toHaveLength(PARTIES - 1);
      }
    });

    it('marks a reservation spent only for its holder, and never again reserves it', async () => {
      const s = await freshStore();
      const nh = 0x55n;
      expect(await s.reserve(nh, 'a', now, 60_000)).toEqual({ ok: true });
      expect(await s.markSpent(nh, 'b', now)).toBe(false);
      expect(await s.release(nh, 'b')).toBe(false);
      expect(await s.markSpent(nh, 'a', now)).toBe(true);
      expect(await s.nullifierState(nh, now)).toBe('spent');
      expect(await s.reserve(nh, 'c', now + 10 ** 9, 60_000)).toEqual({ ok: false, state: 'spent' });
      expect(await s.release(nh, 'a')).toBe(false);
      expect(await s.releaseExpired(now + 10 ** 9)).toBe(0);
      expect(await s.nullifierState(nh, now)).toBe('spent');
    });

    it('makes a released credit spendable again', async () => {
      const s = await freshStore();
      const nh = 0x66n;
      await s.reserve(nh, 'a', now, 60_000);
      expect(await s.release(nh, 'a')).toBe(true);
      expect(await s.nullifierState(nh, now)).toBeNull();
      expect(await s.reserve(nh, 'b', now, 60_000)).toEqual({ ok: true });
    });

    it('lets an expired reservation (crashed holder) be taken over, and then refuses the old holder', async () => {
      const s = await freshStore();
      const nh = 0x77n;
      await s.reserve(nh, 'crashed', now, 1000);
      expect(await s.reserve(nh, 'b', now + 999, 1000)).toEqual({ ok: false, state: 'reserved' });
      expect(await s.nullifierState(nh, now + 999)).toBe('reserved');
      expect(await s.nullifierState(nh, now + 1000)).toBeNull();
      expect(await s.reserve(nh, 'b', now + 1000, 1000)).toEqual({ ok: true });
      expect(await s.markSpent(nh, 'crashed', now + 1001)).toBe(false);
      expect(await s.markSpent(nh, 'b', now + 1001)).toBe(true);
    });

    it('cools a credit down from the third counted release on, 1 s doubling up to 5 min, and counts only its holder\'s releases', async () => {
      const s = await freshStore();
      const nh = 0x99n;
      let t = now;
      const cycle = async () => {
        expect(await s.reserve(nh, `h${t}`, t, 60_000)).toEqual({ ok: true });
        expect(await s.release(nh, 'not-the-holder', { now: t, after: 3 })).toBe(false); // not counted
        expect(await s.release(nh, `h${t}`, { now: t, after: 3 })).toBe(true);
      };
      await cycle();
      await cycle();
      expect(await s.nullifierState(nh, t)).toBeNull(); // two releases: free at once
      await cycle(); // third: 1 s
      expect(await s.nullifierState(nh, t)).toBe('cooling');
      expect(await s.coolingUntil(nh, t)).toBe(t + 1000);
      expect(await s.reserve(nh, 'early', t + 999, 60_000)).toEqual({ ok: false, state: 'cooling' });
      t += 1000;
      expect(await s.nullifierState(nh, t)).toBeNull();
      await cycle(); // fourth: 2 s
      expect(await s.coolingUntil(nh, t)).toBe(t + 2000);
      for (let i = 0; i < 12; i++) {
        t = (await s.coolingUntil(nh, t))!;
        await cycle();
      }
      expect((await s.coolingUntil(nh, t))! - t).toBe(300_000); // capped at 5 minutes
      expect(await s.markSpent(nh, 'early', t)).toBe(false);
      // A sweep of expired rows forgets the cooldown but never the count.
      t += 300_000;
      expect(await s.releaseExpired(t)).toBe(1);
      await cycle();
      expect((await s.coolingUntil(nh, t))! - t).toBe(300_000);
    });

    it('sweeps expired reservations', async () => {
      const s = await freshStore();
      await s.reserve(0x88n, 'a', now, 1000);
      await s.reserve(0x89n, 'b', now, 5000);
      expect(await s.releaseExpired(now + 2000)).toBe(1);
      expect(await s.nullifierState(0x88n, now)).toBeNull();
      expect(await s.nullifierState(0x89n, now)).toBe('reserved');
    });
  });
});
