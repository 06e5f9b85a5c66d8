// Purchase replay on logs built with the contract's own event ABI (the chain paths, receipts
// and eth_getLogs on a real Anvil, are in e2e-anvil.test.ts).
import { encodeAbiParameters, encodeEventTopics, getAddress, type Address, type Hash, type Log } from 'viem';
import { describe, expect, it } from 'vitest';
import { MerkleTree, TreeError, applyPurchases, creditPoolAbi, decodePurchases, testTokenAbi, type Purchase } from '../src/index.js';

const POOL = getAddress('0x5fbdb2315678afecb367f032d93f642f64180aa3');
const OTHER = getAddress('0xe7f1725e7734ce288f8367e1bb143e90bb3f0512');
const BUYER = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hash;

type At = { address?: Address; block: number; logIndex: number; removed?: boolean };

function purchaseLog(startIndex: number, commitments: bigint[], newRoot: bigint, at: At): Log<bigint, number, false> {
  return {
    address: at.address ?? POOL,
    topics: encodeEventTopics({ abi: creditPoolAbi, eventName: 'CreditsPurchased', args: { buyer: BUYER, startIndex: BigInt(startIndex) } }) as [Hash, ...Hash[]],
    data: encodeAbiParameters([{ type: 'uint256[]' }, { type: 'uint256' }, { type: 'uint256' }], [commitments, newRoot, 7n * BigInt(commitments.length)]),
    blockNumber: BigInt(at.block),
    blockHash: hash(at.block),
    transactionHash: hash(1000 + at.block * 10 + at.logIndex),
    transactionIndex: 0,
    logIndex: at.logIndex,
    removed: at.removed ?? false,
  };
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
