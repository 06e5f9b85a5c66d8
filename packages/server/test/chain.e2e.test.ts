// The chain index against a real Anvil: resume after restart, confirmations, reorgs.
import { credentialCommitment, generateCredential, initPoseidon2, MerkleTree, toFieldHex } from '@zkcredits/core';
import type { PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainIndexer } from '../src/chain/indexer.js';
import { createLogger } from '../src/logger.js';
import { emptyRoot } from '../src/chain/indexer.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { chatBody, errorOf, startStack, type Stack } from './helpers/stack.js';
import { makeStoreFactory, STORE_KINDS, type StoreFactory } from './helpers/stores.js';

const logger = createLogger({ level: 'silent' });

/** Counts eth_getLogs ranges asked for, to see where an index resumes. */
function countingClient(client: PublicClient, ranges: { from: bigint; to: bigint }[]): PublicClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'getLogs') {
        return (args: { fromBlock: bigint; toBlock: bigint }) => {
          ranges.push({ from: args.fromBlock, to: args.toBlock });
          return target.getLogs(args as never);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

describe.each(STORE_KINDS)('chain index on %s', (kind) => {
  let chain: TestChain;
  let stores: StoreFactory;

  beforeAll(async () => {
    await initPoseidon2();
    chain = await startTestChain();
    stores = await makeStoreFactory(kind);
  });
  afterAll(async () => {
    await chain?.stop();
    await stores?.cleanup();
  });

  function indexer(store: ReturnType<StoreFactory['open']>, confirmations: number, ranges: { from: bigint; to: bigint }[] = []) {
    return new ChainIndexer({
      client: countingClient(chain.client, ranges),
      store,
      contract: chain.pool,
      deploymentBlock: chain.deploymentBlock,
      confirmations,
      pollIntervalMs: 50,
      logBlockRange: 5,
      logger,
    });
  }

  it('replays purchases, waits for confirmations and resumes after a restart without rescanning', async () => {
    const mirror = new MerkleTree();
    const store1 = stores.open();
    await store1.init({ chainId: chain.chainId, contract: chain.pool, deploymentBlock: chain.deploymentBlock, emptyRoot: emptyRoot() });
    for (let i = 0; i < 3; i++) {
      const batch = Array.from({ length: 3 }, () => credentialCommitment(generateCredential()));
      await chain.buy(batch);
      mirror.insertMany(batch);
    }
    await chain.mine(12); // several getLogs ranges of 5 blocks
    const first = indexer(store1, 2);
    await first.pollOnce();
    expect(first.tree.size).toBe(9);
    expect(first.tree.root).toBe(mirror.root);
    expect(first.isSynced()).toBe(true);
    const synced = first.status.synced!;
    expect(synced).toBe((await chain.client.getBlockNumber({ cacheTime: 0 })) - 2n);

    // an unconfirmed purchase is not indexed until enough blocks follow it
    const late = credentialCommitment(generateCredential());
    const { newRoot } = await chain.buy([late]);
    await first.pollOnce();
    expect(first.tree.size).toBe(9);
    await chain.mine(2);
    await first.pollOnce();
    expect(first.tree.size).toBe(10);
    expect(first.tree.root).toBe(newRoot);
    await store1.close();

    // restart: a new process (new store handle, new indexer) resumes from the stored cursor
    const store2 = stores.open();
    await store2.init({ chainId: chain.chainId, contract: chain.pool, deploymentBlock: chain.deploymentBlock, emptyRoot: emptyRoot() });
    const cursor = await store2.getCursor();
    const ranges: { from: bigint; to: bigint }[] = [];
    await chain.mine(1);
    const second = indexer(store2, 2, ranges);
    await second.pollOnce();
    expect(second.tree.size).toBe(10);
    expect(second.tree.root).toBe(newRoot);
    expect(ranges.length).toBeGreaterThan(0);
    expect(ranges.every((r) => r.from > cursor.number)).toBe(true);
    await store2.close();
  });
});

describe.each(STORE_KINDS)('reorg on %s', (kind) => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack(kind);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('rolls back a purchase dropped by a reorg: its root is no longer accepted', async () => {
    const [kept] = await s.buyCredits(1);
    const snapshot = await s.chain.snapshot();
    const [dropped] = await s.buyCredits(1);
    const body = chatBody('after the reorg');
    const droppedProof = await s.prove(dropped!, body);
    expect(s.server.indexer.tree.root).toBe(BigInt(droppedProof.root));

    await s.chain.revert(snapshot);
    await s.chain.mine(3); // a different chain at the same heights
    const deadline = Date.now() + 20_000;
    while (s.server.indexer.status.reorgs === 0 || s.server.indexer.tree.size !== 1) {
      if (Date.now() > deadline) throw new Error('reorg not detected');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await errorOf(await s.post({ ...body, zkcredits: droppedProof }))).toMatchObject({ status: 403, code: 'unknown_root' });
    const roots = (await (await fetch(`${s.url}/v1/zkcredits/roots`)).json()) as { current: string };
    s.tree.truncate(1);
    expect(roots.current).toBe(toFieldHex(s.tree.root));
    // the purchase that survived is still spendable
    expect((await s.post({ ...body, zkcredits: await s.prove(kept!, body) })).status).toBe(200);
  });
});
