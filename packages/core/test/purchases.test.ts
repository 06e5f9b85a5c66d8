// Purchase replay on logs built with the contract's own event ABI: v1 `CreditsPurchased`, v2
// `AccountOpened` (a batch merged into one insertion) and `MeteredAccountOpened` (one leaf each). The
// chain paths, receipts and eth_getLogs on a real Anvil, are in e2e-anvil.test.ts and metered-anvil.test.ts.
import { encodeAbiParameters, encodeEventTopics, getAddress, type Address, type Hash, type Log } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  TreeError,
  applyPurchases,
  creditPoolAbi,
  decodePurchases,
  fetchPurchases,
  flatAccountLeaf,
  meteredAccountLeaf,
  testTokenAbi,
  type MeteredTerms,
  type Purchase,
} from '../src/index.js';

const POOL = getAddress('0x5fbdb2315678afecb367f032d93f642f64180aa3');
const OTHER = getAddress('0xe7f1725e7734ce288f8367e1bb143e90bb3f0512');
const BUYER = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hash;

type At = { address?: Address; block: number; logIndex: number; removed?: boolean; tx?: number };

function purchaseLog(startIndex: number, commitments: bigint[], newRoot: bigint, at: At): Log<bigint, number, false> {
  return {
    address: at.address ?? POOL,
    topics: encodeEventTopics({ abi: creditPoolAbi, eventName: 'CreditsPurchased', args: { buyer: BUYER, startIndex: BigInt(startIndex) } }) as [Hash, ...Hash[]],
    data: encodeAbiParameters([{ type: 'uint256[]' }, { type: 'uint256' }, { type: 'uint256' }], [commitments, newRoot, 7n * BigInt(commitments.length)]),
    blockNumber: BigInt(at.block),
    blockHash: hash(at.block),
    transactionHash: at.tx === undefined ? hash(1000 + at.block * 10 + at.logIndex) : hash(at.tx),
    transactionIndex: 0,
    logIndex: at.logIndex,
    removed: at.removed ?? false,
  };
}

type Opened = { id: bigint; leafIndex: number; tickets: number; expiryDay: number; leaf: bigint; newRoot: bigint };

function accountLog(a: Opened, at: At): Log<bigint, number, false> {
  return {
    ...purchaseLog(0, [], 0n, at),
    topics: encodeEventTopics({ abi: creditPoolAbi, eventName: 'AccountOpened', args: { id: a.id, payer: BUYER } }) as [Hash, ...Hash[]],
    data: encodeAbiParameters(
      Array.from({ length: 6 }, () => ({ type: 'uint256' })),
      [BigInt(a.leafIndex), BigInt(a.tickets), BigInt(a.expiryDay), a.leaf, a.newRoot, 3n * BigInt(a.tickets)],
    ),
  };
}

/** The `MeteredAccountOpened` log of account `id` with `terms`, as leaf `leafIndex` of a tree whose root is then `newRoot`. */
function meteredLog(id: bigint, terms: MeteredTerms, leafIndex: number, leaf: bigint, newRoot: bigint, at: At): Log<bigint, number, false> {
  const paid = BigInt((terms.dLane + terms.sLane) * 2 ** terms.lanesLog2);
  return {
    ...purchaseLog(0, [], 0n, at),
    topics: encodeEventTopics({ abi: creditPoolAbi, eventName: 'MeteredAccountOpened', args: { id, payer: BUYER } }) as [Hash, ...Hash[]],
    data: encodeAbiParameters(
      Array.from({ length: 8 }, () => ({ type: 'uint256' })),
      [BigInt(leafIndex), BigInt(terms.dLane), BigInt(terms.lanesLog2), BigInt(terms.sLane), BigInt(terms.expiryDay), leaf, newRoot, paid],
    ),
  };
}

/** A metered account opened after `mirror`, its leaf computed as the contract does. */
function openMetered(mirror: MerkleTree, terms: MeteredTerms, at: At): Log<bigint, number, false> {
  const id = BigInt(mirror.size + 1) * 0x5a1n;
  const leaf = meteredAccountLeaf(id, terms);
  mirror.insert(leaf);
  return meteredLog(id, terms, mirror.size - 1, leaf, mirror.root, at);
}

/** Accounts `tickets[i]` opened in one transaction from `startIndex` on, after `mirror`: the logs as the contract emits them. */
function openBatch(mirror: MerkleTree, tickets: number[], at: { block: number; logIndex: number; tx: number }): Log<bigint, number, false>[] {
  const startIndex = mirror.size;
  const accounts = tickets.map((n, i) => {
    const id = BigInt(startIndex + i + 1) * 0x3d7n;
    return { id, tickets: n, expiryDay: 20_500, leaf: flatAccountLeaf(id, n, 20_500) };
  });
  mirror.insertMany(accounts.map((a) => a.leaf));
  return accounts.map((a, i) => accountLog({ ...a, leafIndex: startIndex + i, newRoot: mirror.root }, { block: at.block, logIndex: at.logIndex + i, tx: at.tx }));
}

function transferLog(at: At): Log<bigint, number, false> {
  return {
    ...purchaseLog(0, [], 0n, at),
    topics: encodeEventTopics({ abi: testTokenAbi, eventName: 'Transfer', args: { from: BUYER, to: POOL } }) as [Hash, ...Hash[]],
    data: encodeAbiParameters([{ type: 'uint256' }], [21n]),
  };
}

/** Purchases of `sizes` leaves each that continue an empty tree, with their true roots. */
function chainOf(sizes: number[]): Purchase[] {
  const mirror = new MerkleTree();
  return sizes.map((size, i) => {
    const startIndex = mirror.size;
    const commitments = Array.from({ length: size }, (_, k) => BigInt(1 + startIndex + k) * 0x1f3n);
    mirror.insertMany(commitments);
    return decodePurchases([purchaseLog(startIndex, commitments, mirror.root, { block: 10 + i, logIndex: 0 })], POOL)[0]!;
  });
}

describe('decodePurchases', () => {
  it('decodes every field of a CreditsPurchased log', () => {
    const [p] = decodePurchases([purchaseLog(4, [11n, 12n], 99n, { block: 7, logIndex: 3 })], POOL);
    expect(p).toEqual({
      kind: 'credits',
      buyer: BUYER,
      startIndex: 4,
      commitments: [11n, 12n],
      newRoot: 99n,
      amountPaid: 14n,
      blockNumber: 7n,
      blockHash: hash(7),
      transactionHash: hash(1073),
      logIndex: 3,
    });
  });

  it('keeps only this pool\'s purchases: not the token\'s Transfer in the same receipt, not another pool, not removed logs', () => {
    const logs = [
      transferLog({ block: 5, logIndex: 0 }),
      purchaseLog(0, [1n], 1n, { block: 5, logIndex: 1 }),
      purchaseLog(0, [2n], 2n, { block: 5, logIndex: 2, address: OTHER }),
      purchaseLog(1, [3n], 3n, { block: 6, logIndex: 0, removed: true }),
    ];
    expect(decodePurchases(logs, POOL).map((p) => p.commitments)).toEqual([[1n]]);
    expect(decodePurchases(logs, getAddress(POOL).toLowerCase() as Address)).toHaveLength(1);
  });

  it('returns purchases in chain order (block, then log index) whatever order the logs came in', () => {
    const logs = [
      purchaseLog(3, [4n], 0n, { block: 9, logIndex: 0 }),
      purchaseLog(2, [3n], 0n, { block: 8, logIndex: 5 }),
      purchaseLog(0, [1n], 0n, { block: 8, logIndex: 1 }),
      purchaseLog(1, [2n], 0n, { block: 8, logIndex: 2 }),
    ];
    expect(decodePurchases(logs, POOL).map((p) => p.startIndex)).toEqual([0, 1, 2, 3]);
  });
});

describe('applyPurchases', () => {
  it('rebuilds the tree and checks the announced root after every purchase', () => {
    const tree = new MerkleTree();
    const purchases = chainOf([3, 1, 5]);
    applyPurchases(tree, purchases);
    expect(tree.size).toBe(9);
    expect(tree.root).toBe(purchases[2]!.newRoot);
  });

  it('refuses a purchase that leaves a gap and leaves the tree as it was', () => {
    const [a, b, c] = chainOf([2, 2, 2]);
    const tree = new MerkleTree();
    applyPurchases(tree, [a!]);
    const root = tree.root;
    expect(() => applyPurchases(tree, [b!, { ...c!, startIndex: 5 }])).toThrow(TreeError);
    expect(tree.size).toBe(2);
    expect(tree.root).toBe(root);
  });

  it('refuses a purchase whose announced root the mirror does not reach and leaves the tree as it was', () => {
    const [a, b] = chainOf([2, 3]);
    const tree = new MerkleTree();
    expect(() => applyPurchases(tree, [a!, { ...b!, newRoot: b!.newRoot + 1n }])).toThrow(/mirror root differs/);
    expect(tree.size).toBe(0);
  });
});

describe('AccountOpened replay', () => {
  it('decodes one opening into an insertion of kind accounts', () => {
    const [p] = decodePurchases([accountLog({ id: 77n, leafIndex: 9, tickets: 100, expiryDay: 20_450, leaf: 55n, newRoot: 66n }, { block: 4, logIndex: 2 })], POOL);
    expect(p).toEqual({
      kind: 'accounts',
      buyer: BUYER,
      startIndex: 9,
      commitments: [55n],
      newRoot: 66n,
      amountPaid: 300n,
      accounts: [{ id: 77n, tickets: 100, expiryDay: 20_450 }],
      blockNumber: 4n,
      blockHash: hash(4),
      transactionHash: hash(1042),
      logIndex: 2,
    });
  });

  it('merges the consecutive openings of one transaction with contiguous leaf indices and one root', () => {
    const mirror = new MerkleTree();
    const logs = openBatch(mirror, [5, 1, 65_535], { block: 3, logIndex: 1, tx: 1 });
    // the token's Transfer of the same transaction sits before them, as in a real receipt
    const [p, ...rest] = decodePurchases([transferLog({ block: 3, logIndex: 0, tx: 1 }), ...logs.reverse()], POOL);
    expect(rest).toEqual([]);
    expect(p!.kind).toBe('accounts');
    expect(p!.startIndex).toBe(0);
    expect(p!.commitments).toHaveLength(3);
    expect(p!.accounts!.map((a) => a.tickets)).toEqual([5, 1, 65_535]);
    expect(p!.amountPaid).toBe(3n * (5n + 1n + 65_535n));
    expect(p!.logIndex).toBe(1);
    expect(p!.newRoot).toBe(mirror.root);
    const tree = new MerkleTree();
    applyPurchases(tree, [p!]);
    expect(tree.root).toBe(mirror.root);
  });

  it('keeps openings apart across transactions, leaf gaps, different roots and a credit purchase in between', () => {
    const at = (logIndex: number, tx = 1) => ({ block: 8, logIndex, tx });
    const open = (leafIndex: number, newRoot: bigint, logIndex: number, tx = 1) =>
      accountLog({ id: BigInt(leafIndex + 1), leafIndex, tickets: 1, expiryDay: 1, leaf: BigInt(leafIndex + 100), newRoot }, at(logIndex, tx));
    const logs = [
      open(0, 1n, 0), // one batch: leaves 0, 1 with root 1
      open(1, 1n, 1),
      open(2, 2n, 2), // same transaction, contiguous, another root: a second openFlat call
      open(3, 3n, 3, 2), // another transaction
      purchaseLog(4, [9n], 4n, at(4, 2)),
      open(5, 5n, 5, 2), // after a credit purchase
      open(7, 5n, 6, 2), // a gap in the leaf indices
    ];
    expect(decodePurchases(logs, POOL).map((p) => [p.kind, p.startIndex, p.commitments.length])).toEqual([
      ['accounts', 0, 2],
      ['accounts', 2, 1],
      ['accounts', 3, 1],
      ['credits', 4, 1],
      ['accounts', 5, 1],
      ['accounts', 7, 1],
    ]);
  });

  it('replays credits and accounts of one tree in chain order, one root check per insertion', () => {
    const mirror = new MerkleTree();
    const credits = (n: number, block: number) => {
      const start = mirror.size;
      const c = Array.from({ length: n }, (_, k) => BigInt(start + k + 1) * 0x1f3n);
      mirror.insertMany(c);
      return purchaseLog(start, c, mirror.root, { block, logIndex: 0 });
    };
    const logs = [credits(2, 1), ...openBatch(mirror, [10, 20], { block: 2, logIndex: 3, tx: 7 }), credits(1, 3), ...openBatch(mirror, [1], { block: 3, logIndex: 1, tx: 8 })];
    const purchases = decodePurchases(logs.reverse(), POOL);
    expect(purchases.map((p) => p.kind)).toEqual(['credits', 'accounts', 'credits', 'accounts']);
    const tree = new MerkleTree();
    applyPurchases(tree, purchases);
    expect(tree.size).toBe(6);
    expect(tree.root).toBe(mirror.root);
  });

  it('refuses a batch whose logs were replayed one root check per log (only the last root is announced)', () => {
    const mirror = new MerkleTree();
    const logs = openBatch(mirror, [1, 2], { block: 2, logIndex: 0, tx: 9 });
    const split = logs.map((log) => decodePurchases([log], POOL)[0]!);
    expect(() => applyPurchases(new MerkleTree(), split)).toThrow(/mirror root differs/);
  });

  it('decodes a metered opening into an insertion of kind metered with its terms', () => {
    const terms = { dLane: 1_000_000, lanesLog2: 3, sLane: 2 ** 40 - 1, expiryDay: 20_788 };
    const [p] = decodePurchases([meteredLog(91n, terms, 4, 55n, 66n, { block: 6, logIndex: 1 })], POOL);
    expect(p).toEqual({
      kind: 'metered',
      buyer: BUYER,
      startIndex: 4,
      commitments: [55n],
      newRoot: 66n,
      amountPaid: BigInt((terms.dLane + terms.sLane) * 8),
      metered: { id: 91n, terms },
      blockNumber: 6n,
      blockHash: hash(6),
      transactionHash: hash(1061),
      logIndex: 1,
    });
  });

  it('replays credits, flat and metered accounts of one tree in chain order; a metered opening never merges with flat ones', () => {
    const mirror = new MerkleTree();
    const credits = (n: number, block: number) => {
      const start = mirror.size;
      const c = Array.from({ length: n }, (_, k) => BigInt(start + k + 1) * 0x1f3n);
      mirror.insertMany(c);
      return purchaseLog(start, c, mirror.root, { block, logIndex: 0 });
    };
    const terms = (dLane: number): MeteredTerms => ({ dLane, lanesLog2: 1, sLane: 7, expiryDay: 20_500 });
    const logs = [
      credits(2, 1),
      ...openBatch(mirror, [10], { block: 2, logIndex: 0, tx: 7 }),
      openMetered(mirror, terms(50_000), { block: 2, logIndex: 1, tx: 7 }), // same transaction, contiguous leaf
      openMetered(mirror, terms(60_000), { block: 2, logIndex: 2, tx: 7 }),
      ...openBatch(mirror, [1], { block: 2, logIndex: 3, tx: 7 }),
      credits(1, 3),
      openMetered(mirror, terms(70_000), { block: 4, logIndex: 0 }),
    ];
    const purchases = decodePurchases(logs.reverse(), POOL);
    expect(purchases.map((p) => [p.kind, p.startIndex, p.commitments.length])).toEqual([
      ['credits', 0, 2],
      ['accounts', 2, 1],
      ['metered', 3, 1],
      ['metered', 4, 1],
      ['accounts', 5, 1],
      ['credits', 6, 1],
      ['metered', 7, 1],
    ]);
    expect(purchases.filter((p) => p.kind === 'metered').map((p) => p.metered!.terms.dLane)).toEqual([50_000, 60_000, 70_000]);
    const tree = new MerkleTree();
    applyPurchases(tree, purchases);
    expect(tree.size).toBe(8);
    expect(tree.root).toBe(mirror.root);
  });

  it('refuses a metered opening whose announced root the mirror does not reach', () => {
    const mirror = new MerkleTree();
    const log = openMetered(mirror, { dLane: 50_000, lanesLog2: 0, sLane: 1, expiryDay: 1 }, { block: 1, logIndex: 0 });
    const [p] = decodePurchases([log], POOL);
    const tree = new MerkleTree();
    expect(() => applyPurchases(tree, [{ ...p!, newRoot: p!.newRoot + 1n }])).toThrow(TreeError);
    expect(tree.size).toBe(0);
    applyPurchases(tree, [p!]);
    expect(tree.root).toBe(mirror.root);
  });

  it('fetchPurchases asks eth_getLogs for the three insertion events in each chunk', async () => {
    const mirror = new MerkleTree();
    const c = [5n];
    mirror.insertMany(c);
    const calls: { events?: readonly { name?: string }[]; fromBlock?: bigint; toBlock?: bigint }[] = [];
    const chain = [
      purchaseLog(0, c, mirror.root, { block: 5, logIndex: 0 }),
      ...openBatch(mirror, [3, 4], { block: 12, logIndex: 0, tx: 3 }),
      openMetered(mirror, { dLane: 50_000, lanesLog2: 2, sLane: 3, expiryDay: 9 }, { block: 13, logIndex: 0 }),
    ];
    const client = {
      getLogs: async (args: { events?: readonly { name?: string }[]; fromBlock?: bigint; toBlock?: bigint }) => {
        calls.push(args);
        return chain.filter((l) => l.blockNumber >= args.fromBlock! && l.blockNumber <= args.toBlock!);
      },
    } as unknown as Parameters<typeof fetchPurchases>[0]['client'];
    const purchases = await fetchPurchases({ client, address: POOL, fromBlock: 1n, toBlock: 20n, chunkSize: 10n });
    expect(calls.map((c) => [c.fromBlock, c.toBlock])).toEqual([[1n, 10n], [11n, 20n]]);
    for (const call of calls) expect(call.events?.map((e) => e.name)).toEqual(['CreditsPurchased', 'AccountOpened', 'MeteredAccountOpened']);
    expect(purchases.map((p) => [p.kind, p.startIndex, p.commitments.length])).toEqual([['credits', 0, 1], ['accounts', 1, 2], ['metered', 3, 1]]);
    const tree = new MerkleTree();
    applyPurchases(tree, purchases);
    expect(tree.root).toBe(mirror.root);
  });
});
