// A caller that brings its own copy of viem (here 2.57.20, installed beside core's 2.57.1 under an
// npm alias) must be able to buy: core may not recognise viem's errors by class identity, or a purchase
// that was sent throws, and a caller that saves its credentials after the purchase loses them.
//
// The chain is a real Anvil with automine off; the caller's transport mines a block only after the
// receipt was asked for and not found yet. So every purchase meets viem's "receipt not found" error
// from the caller's viem, exactly the case that used to escape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as theirViem from 'viem-2.57.20';
import { privateKeyToAccount } from 'viem-2.57.20/accounts';
import { foundry } from 'viem-2.57.20/chains';
import * as ourViem from 'viem';
import { MerkleTree, applyPurchases, buyCredits, credentialCommitment, fetchPurchases, generateCredential, isZkCreditsError, toContractError } from '../src/index.js';
import { creditPoolAbi, testTokenAbi } from '../src/generated/abis.js';
import { deployContracts } from '../src/deploy.js';
import { ANVIL_KEYS, startAnvil, type Anvil } from '../src/node/anvil.js';

const PRICE = 100_000n;
let anvil: Anvil;
let pool: `0x${string}`;
let token: `0x${string}`;
let receiptMisses = 0;

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const json = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  if (json.error) throw Object.assign(new Error(json.error.message), json.error);
  return json.result;
}

/** The caller's transport: plain JSON-RPC, plus one mined block after each receipt that was not there yet. */
const minesOnMiss = theirViem.custom({
  async request({ method, params }: { method: string; params?: unknown }) {
    const result = await rpc(method, (params as unknown[] | undefined) ?? []);
    if (method === 'eth_getTransactionReceipt' && result === null) {
      receiptMisses++;
      await rpc('evm_mine');
    }
    return result;
  },
});

const theirClients = (key: `0x${string}`) => ({
  publicClient: theirViem.createPublicClient({ chain: foundry, transport: minesOnMiss, pollingInterval: 50 }),
  walletClient: theirViem.createWalletClient({ chain: foundry, account: privateKeyToAccount(key), transport: minesOnMiss, pollingInterval: 50 }),
});

beforeAll(async () => {
  anvil = await startAnvil();
  const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
  const deployment = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_KEYS[0], pricePerCredit: PRICE, owner, treasury: owner });
  pool = deployment.creditPool;
  token = deployment.token;
  const { walletClient } = theirClients(ANVIL_KEYS[0]);
  for (const key of [ANVIL_KEYS[1], ANVIL_KEYS[2]]) {
    await walletClient.writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [privateKeyToAccount(key).address, 100n * PRICE] });
  }
  await rpc('evm_setAutomine', [false]);
  await rpc('evm_mine');
});

afterAll(async () => {
  await anvil?.stop();
});

describe('a purchase through a caller-supplied viem of another version', () => {
  it('is the other copy of viem, whose error classes are not core\'s', () => {
    expect(theirViem.TransactionReceiptNotFoundError).not.toBe(ourViem.TransactionReceiptNotFoundError);
    expect(new theirViem.TransactionReceiptNotFoundError({ hash: '0x00' })).not.toBeInstanceOf(ourViem.TransactionReceiptNotFoundError);
  });

  it.each([
    ['approve + buy', ANVIL_KEYS[1], false],
    ['one permit-signed transaction', ANVIL_KEYS[2], true],
  ] as const)('returns the purchase with %s, so the caller keeps the credentials it bought', async (_label, key, permit) => {
    const credentials = [generateCredential(), generateCredential()];
    const missesBefore = receiptMisses;
    const result = await buyCredits({ ...theirClients(key), pool, commitments: credentials.map(credentialCommitment), permit } as never);

    expect(receiptMisses).toBeGreaterThan(missesBefore); // the cross-version "not found yet" path was taken
    expect(result.amountPaid).toBe(2n * PRICE);
    const client = ourViem.createPublicClient({ transport: ourViem.http(anvil.rpcUrl) });
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client, address: pool, fromBlock: 0n, toBlock: await client.getBlockNumber({ cacheTime: 0 }) }));
    for (const [i, c] of credentials.entries()) expect(tree.indexOf(credentialCommitment(c))).toBe(result.startIndex + i);
    expect(tree.root).toBe(result.newRoot);
  });

  it('maps a revert decoded by the other viem to a contract_error that names the custom error', async () => {
    const { publicClient, walletClient } = theirClients(ANVIL_KEYS[1]);
    const error = await publicClient
      .simulateContract({
        account: walletClient.account,
        address: pool,
        abi: creditPoolAbi,
        functionName: 'buy',
        args: [[credentialCommitment(generateCredential())], PRICE - 1n],
      })
      .catch((e: unknown) => e);
    const mapped = toContractError(error);
    expect(isZkCreditsError(mapped, 'contract_error')).toBe(true);
    expect((mapped as Error & { shortMessage: string }).shortMessage).toBe(`contract reverted: PriceAboveMax(${PRICE}, ${PRICE - 1n})`);
  });
});
