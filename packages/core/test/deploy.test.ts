// deployContracts against a real Anvil: the real forge script deploys TestToken + CreditPool, then two
// accounts buy credits (approve path and ERC-2612 permit path). Event contents and the on-chain root are
// checked against a root computed in TypeScript with bb.js Poseidon2. Then v2 flat accounts are opened
// (single and batch) in the same tree and the whole tree is replayed from eth_getLogs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendType, BarretenbergSync } from '@aztec/bb.js';
import {
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
  parseSignature,
  type Address,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_C_MAX, DEFAULT_STATE_KEY_DELAY, DEFAULT_STATE_KEY_GRACE, DEFAULT_TTL_DAYS, DeployError, defaultPriceUnit, deployContracts } from '../src/deploy.js';
import { STATE_KEY_ORDER, statePublicKey } from '../src/v2/state-key.js';
import { readMeteredParams, readStateKeys } from '../src/v2/state-keys.js';
import { applyPurchases, fetchPurchases } from '../src/purchases.js';
import { MerkleTree } from '../src/tree.js';
import { ANVIL_KEYS, freePort, startAnvil, type Anvil } from '../src/node/anvil.js';
import { PERMIT_TYPES } from '../src/permit.js';
import { waitForReceipt } from '../src/receipt.js';
import { creditPoolAbi, testTokenAbi } from '../src/generated/abis.js';
import { TAG_ACCOUNT_F, TAG_LEAF, TAG_NODE, TREE_DEPTH } from '../src/generated/constants.js';

const KEYS = ANVIL_KEYS;
const PRICE = 250_000n;
const TICKET_PRICE = 3_000n;
const TTL_DAYS = 90;

let bb: BarretenbergSync;
const toBytes = (x: bigint) => {
  const b = new Uint8Array(32);
  for (let i = 31, v = x; i >= 0; i--, v >>= 8n) b[i] = Number(v & 255n);
  return b;
};
const H = (xs: bigint[]) => BigInt('0x' + Buffer.from(bb.poseidon2Hash({ inputs: xs.map(toBytes) }).hash).toString('hex'));

/** Root by definition: full recomputation, a missing right child is the level's zero hash. */
function referenceRoot(leaves: bigint[]): bigint {
  let level = leaves;
  let zero = 0n;
  for (let l = 0; l < TREE_DEPTH; l++) {
    const next: bigint[] = [];
    for (let j = 0; j < Math.max(level.length, 1); j += 2) next.push(H([TAG_NODE, level[j] ?? zero, level[j + 1] ?? zero]));
    level = next;
    zero = H([TAG_NODE, zero, zero]);
  }
  return level[0]!;
}

const randomField31 = () => BigInt('0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(31))).toString('hex')) || 1n;
const newCommitments = (n: number) => Array.from({ length: n }, () => H([TAG_LEAF, randomField31(), randomField31()]));

describe('deployContracts on Anvil', () => {
  let anvil: Anvil | undefined;
  let rpcUrl: string;
  let pool: Address;
  let token: Address;
  let deploymentBlock: bigint;
  const client = () => createPublicClient({ chain: foundry, transport: http(rpcUrl) });
  const wallet = (i: 0 | 1 | 2) =>
    createWalletClient({ account: privateKeyToAccount(KEYS[i]), chain: foundry, transport: http(rpcUrl) });

  beforeAll(async () => {
    bb = await BarretenbergSync.new({ backend: BackendType.Wasm });
    anvil = await startAnvil();
    rpcUrl = anvil.rpcUrl;
    const owner = privateKeyToAccount(KEYS[0]).address;
    ({ creditPool: pool, token, deploymentBlock } = await deployContracts({
      rpcUrl,
      privateKey: KEYS[0],
      pricePerCredit: PRICE,
      pricePerTicket: TICKET_PRICE,
      ttlDays: TTL_DAYS,
      owner,
      treasury: owner,
    }));
  }, 300_000);

  afterAll(async () => {
    await anvil?.stop();
  });

  it('deploys a configured CreditPool and reports its deployment block', async () => {
    const c = client();
    const read = <F extends 'pricePerCredit' | 'pricePerTicket' | 'ttlDays' | 'owner' | 'paymentToken' | 'deploymentBlock' | 'nextIndex' | 'currentRoot'>(
      functionName: F,
    ) => c.readContract({ address: pool, abi: creditPoolAbi, functionName });
    expect(await read('pricePerCredit')).toBe(PRICE);
    expect(await read('pricePerTicket')).toBe(TICKET_PRICE);
    expect(await read('ttlDays')).toBe(BigInt(TTL_DAYS));
    expect(await read('owner')).toBe(privateKeyToAccount(KEYS[0]).address);
    expect(await read('paymentToken')).toBe(token);
    expect(await read('nextIndex')).toBe(0n);
    expect(await read('currentRoot')).toBe(referenceRoot([]));
    const receiptBlock = deploymentBlock;
    expect(receiptBlock).toBeGreaterThan(0n);
    expect(receiptBlock).toBeLessThanOrEqual(await c.getBlockNumber({ cacheTime: 0 }));
    expect(await c.getCode({ address: pool, blockNumber: receiptBlock - 1n })).toBeUndefined();
    expect(await c.getCode({ address: pool, blockNumber: receiptBlock })).toMatch(/^0x[0-9a-f]+$/);
    expect(await c.readContract({ address: token, abi: testTokenAbi, functionName: 'decimals' })).toBe(6);
  });

  it('buys with approve and with permit; events and root match bb.js', async () => {
    const c = client();
    const [, buyerA, buyerB] = [wallet(0), wallet(1), wallet(2)];
    for (const w of [buyerA, buyerB]) {
      const hash = await wallet(0).writeContract({
        address: token,
        abi: testTokenAbi,
        functionName: 'mint',
        args: [w.account.address, 100n * PRICE],
      });
      await waitForReceipt(c, { hash });
    }

    // Account 1: approve, then buy 3.
    const first = newCommitments(3);
    const approve = await buyerA.writeContract({
      address: token,
      abi: testTokenAbi,
      functionName: 'approve',
      args: [pool, 3n * PRICE],
    });
    await waitForReceipt(c, { hash: approve });
    const buyA = await waitForReceipt(c, {
      hash: await buyerA.writeContract({ address: pool, abi: creditPoolAbi, functionName: 'buy', args: [first, 3n * PRICE] }),
    });
    expect(buyA.status).toBe('success');
    const [eventA] = parseEventLogs({ abi: creditPoolAbi, logs: buyA.logs, eventName: 'CreditsPurchased' });
    expect(eventA!.args).toEqual({
      buyer: buyerA.account.address,
      startIndex: 0n,
      commitments: first,
      newRoot: referenceRoot(first),
      amountPaid: 3n * PRICE,
    });

    // Account 2: one transaction with an ERC-2612 permit, no approve.
    const second = newCommitments(2);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const nonce = await c.readContract({ address: token, abi: testTokenAbi, functionName: 'nonces', args: [buyerB.account.address] });
    const name = await c.readContract({ address: token, abi: testTokenAbi, functionName: 'name' });
    const signature = await buyerB.signTypedData({
      domain: { name, version: '1', chainId: foundry.id, verifyingContract: token },
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: { owner: buyerB.account.address, spender: pool, value: 2n * PRICE, nonce, deadline },
    });
    const { r, s, yParity } = parseSignature(signature);
    const buyB = await waitForReceipt(c, {
      hash: await buyerB.writeContract({
        address: pool,
        abi: creditPoolAbi,
        functionName: 'buyWithPermit',
        args: [second, 2n * PRICE, deadline, 27 + yParity, r, s],
      }),
    });
    expect(buyB.status).toBe('success');
    const all = [...first, ...second];
    const [eventB] = parseEventLogs({ abi: creditPoolAbi, logs: buyB.logs, eventName: 'CreditsPurchased' });
    expect(eventB!.args).toEqual({
      buyer: buyerB.account.address,
      startIndex: 3n,
      commitments: second,
      newRoot: referenceRoot(all),
      amountPaid: 2n * PRICE,
    });

    expect(await c.readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentRoot' })).toBe(referenceRoot(all));
    expect(await c.readContract({ address: pool, abi: creditPoolAbi, functionName: 'isKnownRoot', args: [referenceRoot(first)] })).toBe(true);
    expect(await c.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [pool] })).toBe(5n * PRICE);
    expect(await c.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [buyerB.account.address] })).toBe(98n * PRICE);
  });

  it('opens flat accounts (single and batch) in the same tree; fetchPurchases replays credits and accounts to the on-chain root', async () => {
    const c = client();
    const payer = wallet(1);
    await waitForReceipt(c, {
      hash: await payer.writeContract({ address: token, abi: testTokenAbi, functionName: 'approve', args: [pool, 1_000n * TICKET_PRICE] }),
    });
    const before = await c.readContract({ address: pool, abi: creditPoolAbi, functionName: 'nextIndex' });
    const ids = [randomField31(), randomField31(), randomField31()];
    const single = await waitForReceipt(c, {
      hash: await payer.writeContract({ address: pool, abi: creditPoolAbi, functionName: 'openFlat', args: [ids[0]!, 100n, 100n * TICKET_PRICE] }),
    });
    const batch = await waitForReceipt(c, {
      hash: await payer.writeContract({ address: pool, abi: creditPoolAbi, functionName: 'openFlatBatch', args: [[ids[1]!, ids[2]!], [7n, 9n], 16n * TICKET_PRICE] }),
    });
    expect([single.status, batch.status]).toEqual(['success', 'success']);
    const today = BigInt(Math.floor(Number((await c.getBlock({ blockNumber: single.blockNumber })).timestamp) / 86_400));
    const opened = parseEventLogs({ abi: creditPoolAbi, logs: [...single.logs, ...batch.logs], eventName: 'AccountOpened' });
    expect(opened.map((e) => [e.args.id, e.args.leafIndex, e.args.tickets, e.args.expiryDay, e.args.amountPaid])).toEqual([
      [ids[0], before, 100n, today + BigInt(TTL_DAYS), 100n * TICKET_PRICE],
      [ids[1], before + 1n, 7n, today + BigInt(TTL_DAYS), 7n * TICKET_PRICE],
      [ids[2], before + 2n, 9n, today + BigInt(TTL_DAYS), 9n * TICKET_PRICE],
    ]);
    for (const e of opened) expect(e.args.leaf).toBe(H([TAG_ACCOUNT_F, e.args.id, e.args.tickets, e.args.expiryDay]));
    expect(opened[1]!.args.newRoot).toBe(opened[2]!.args.newRoot);

    // Up to the batch's own block: viem caches getBlockNumber() for a polling interval, which may predate it.
    const purchases = await fetchPurchases({ client: c, address: pool, fromBlock: deploymentBlock, toBlock: batch.blockNumber });
    expect(purchases.map((p) => [p.kind, p.commitments.length])).toEqual([
      ['credits', 3],
      ['credits', 2],
      ['accounts', 1],
      ['accounts', 2],
    ]);
    expect(purchases[3]!.accounts).toEqual([
      { id: ids[1], tickets: 7, expiryDay: Number(today) + TTL_DAYS },
      { id: ids[2], tickets: 9, expiryDay: Number(today) + TTL_DAYS },
    ]);
    const tree = new MerkleTree();
    applyPurchases(tree, purchases);
    expect(tree.root).toBe(await c.readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentRoot' }));
  });

  it('deploys with the default ticket price (the credit price) and account lifetime', async () => {
    const owner = privateKeyToAccount(KEYS[0]).address;
    const d = await deployContracts({ rpcUrl, privateKey: KEYS[0], token, pricePerCredit: PRICE, owner, treasury: owner });
    const c = client();
    expect(await c.readContract({ address: d.creditPool, abi: creditPoolAbi, functionName: 'pricePerTicket' })).toBe(PRICE);
    expect(await c.readContract({ address: d.creditPool, abi: creditPoolAbi, functionName: 'ttlDays' })).toBe(BigInt(DEFAULT_TTL_DAYS));
  }, 120_000);

  it('deploys with the default metered constants: a micro-token price unit, C_max 50,000, a fresh state secret whose key is pinned', async () => {
    const owner = privateKeyToAccount(KEYS[0]).address;
    const c = client();
    const d = await deployContracts({ rpcUrl, privateKey: KEYS[0], token, pricePerCredit: PRICE, owner, treasury: owner });
    expect(d.stateSecret).toBeGreaterThan(0n);
    expect(d.stateKey).toEqual(statePublicKey(d.stateSecret!));
    expect(await readStateKeys(c, d.creditPool)).toEqual({ current: d.stateKey });
    expect(await readMeteredParams(c, d.creditPool)).toEqual({ priceUnit: 1n, cMax: DEFAULT_C_MAX }); // a 6-decimal token
    expect(await c.readContract({ address: d.creditPool, abi: creditPoolAbi, functionName: 'stateKeyDelay' })).toBe(BigInt(DEFAULT_STATE_KEY_DELAY));
    expect(await c.readContract({ address: d.creditPool, abi: creditPoolAbi, functionName: 'stateKeyGrace' })).toBe(BigInt(DEFAULT_STATE_KEY_GRACE));
    expect([d.priceUnit, d.cMax, d.stateKeyDelay, d.stateKeyGrace]).toEqual([1n, 50_000, 86_400, 604_800]);

    // An 18-decimal token: 10^12 base units per price unit (one micro-token). Only a public key given: no secret returned.
    const plain = JSON.parse(readFileSync(join(fileURLToPath(new URL('../../..', import.meta.url)), 'contracts/out/PlainToken.sol/PlainToken.json'), 'utf8')) as { abi: never; bytecode: { object: `0x${string}` } };
    const created = await waitForReceipt(c, { hash: await wallet(0).deployContract({ abi: plain.abi, bytecode: plain.bytecode.object }) });
    const key = statePublicKey(5n);
    const e = await deployContracts({ rpcUrl, privateKey: KEYS[0], token: created.contractAddress!, pricePerCredit: PRICE, owner, treasury: owner, stateKey: key, cMax: 7 });
    expect(e.stateSecret).toBeUndefined();
    expect(await readMeteredParams(c, e.creditPool)).toEqual({ priceUnit: 10n ** 12n, cMax: 7 });
    expect((await readStateKeys(c, e.creditPool)).current).toEqual(key);
  }, 180_000);

  it('derives the default price unit from the token decimals', () => {
    expect([18, 8, 6, 2, 0].map(defaultPriceUnit)).toEqual([10n ** 12n, 100n, 1n, 1n, 1n]);
  });

  it('rejects a state key off the curve and a state secret out of range without echoing the secret', async () => {
    const owner = privateKeyToAccount(KEYS[0]).address;
    const base = { rpcUrl, privateKey: KEYS[0], pricePerCredit: PRICE, owner, treasury: owner };
    await expect(deployContracts({ ...base, stateKey: { x: 1n, y: 2n } })).rejects.toMatchObject({ name: 'DeployError', details: expect.stringMatching(/stateKey: a point of Grumpkin/) });
    const secret = STATE_KEY_ORDER + 12_345_678_987_654_321n;
    const bad = deployContracts({ ...base, stateSecret: secret });
    await expect(bad).rejects.toBeInstanceOf(DeployError);
    await expect(bad).rejects.not.toThrow(new RegExp(secret.toString()));
    await expect(deployContracts({ ...base, stateSecret: 5n, stateKey: statePublicKey(5n) })).rejects.toMatchObject({ details: 'give at most one of stateKey and stateSecret' });
    await expect(deployContracts({ ...base, stateKeyDelay: 60 })).rejects.toMatchObject({ details: expect.stringMatching(/stateKeyDelay/) });
  });

  it('rejects invalid parameters without echoing the private key', async () => {
    const bad = deployContracts({
      rpcUrl,
      privateKey: '0x1234',
      pricePerCredit: 0n,
      owner: '0x0000000000000000000000000000000000000001',
      treasury: '0x0000000000000000000000000000000000000001',
    });
    await expect(bad).rejects.toBeInstanceOf(DeployError);
    await expect(bad).rejects.toMatchObject({ code: 'contract_error' });
    await expect(bad).rejects.not.toThrow(/0x1234/);
  });

  it('fails with DeployError when the RPC is unreachable', async () => {
    const port = await freePort();
    const owner = privateKeyToAccount(KEYS[0]).address;
    await expect(
      deployContracts({ rpcUrl: `http://127.0.0.1:${port}`, privateKey: KEYS[0], pricePerCredit: PRICE, owner, treasury: owner }),
    ).rejects.toMatchObject({ name: 'DeployError', shortMessage: 'forge script Deploy.s.sol failed' });
  }, 120_000);
});
