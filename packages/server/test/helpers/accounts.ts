// Protocol v2 flat accounts on the test chain: open them with the real contract (viem
// writeContract, openFlatBatch), mirror their leaves, and prove tickets with real UltraHonk proofs.
import { randomBytes } from 'node:crypto';
import {
  CHAT_PATH,
  accountId,
  buildTicketWitness,
  bytesToBigInt,
  creditPoolAbi,
  encodeTicketPayload,
  flatAccountLeaf,
  requestHash,
  testTokenAbi,
  utcDay,
  waitForReceipt,
  type FlatAccountTerms,
  type MerkleTree,
  type TicketPayload,
} from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import type { ProofPools } from '../../src/proof/node.js';
import type { TestChain } from './chain.js';

/** A flat account as its owner knows it. */
export type TestAccount = FlatAccountTerms & { id: bigint; leafIndex: number };

/** The dev account that opens accounts in tests (1 buys credits, 3 slashes). */
const OPENER = 2;
const funded = new WeakSet<TestChain>();

/**
 * Opens one account per entry of `tickets` in one `openFlatBatch` transaction, from a funded dev
 * account, and appends their leaves (as the contract computed them) to `tree`.
 */
export async function openAccounts(chain: TestChain, tree: MerkleTree, tickets: readonly number[]): Promise<TestAccount[]> {
  const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[OPENER]), transport: http(chain.rpcUrl), pollingInterval: 50 });
  const send = async (hash: `0x${string}`) => {
    const receipt = await waitForReceipt(chain.client, { hash });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  };
  if (!funded.has(chain)) {
    await send(await wallet.writeContract({ address: chain.token, abi: testTokenAbi, functionName: 'mint', args: [wallet.account.address, 10n ** 30n] }));
    await send(await wallet.writeContract({ address: chain.token, abi: testTokenAbi, functionName: 'approve', args: [chain.pool, 2n ** 256n - 1n] }));
    funded.add(chain);
  }
  const secrets = tickets.map(() => bytesToBigInt(randomBytes(31)));
  const ids = secrets.map(accountId);
  const price = await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'pricePerTicket' });
  const total = price * tickets.reduce((a, n) => a + BigInt(n), 0n);
  await send(await wallet.writeContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'openFlatBatch', args: [ids, tickets.map(BigInt), total] }));
  const accounts: TestAccount[] = [];
  for (const [i, k] of secrets.entries()) {
    const [leafIndex, n, expiryDay] = await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'accounts', args: [ids[i]!] });
    accounts.push({ k, id: ids[i]!, tickets: Number(n), expiryDay: Number(expiryDay), leafIndex: Number(leafIndex) });
  }
  for (const a of accounts) {
    if (a.leafIndex !== tree.size) throw new Error(`account leaf ${a.leafIndex} does not continue the mirror of ${tree.size} leaves`);
    tree.insert(flatAccountLeaf(a.id, a.tickets, a.expiryDay));
  }
  return accounts;
}

/** `x` of a chat request on the test chain: v1's request hash bound to the CreditPool. */
export function chatRequestHash(chain: TestChain, body: object, headers?: Record<string, string>): bigint {
  return requestHash({ chainId: chain.chainId, contract: chain.pool, method: 'POST', path: CHAT_PATH, headers, body });
}

/**
 * A real ticket proof for `body` (ticket `ticket` of `account`, on UTC day `today`), as the
 * `zkcredits` member. Proves on one of the pools' bb backends (they serve both circuits).
 */
export async function proveTicket(
  pools: ProofPools,
  chain: TestChain,
  tree: MerkleTree,
  account: TestAccount,
  ticket: number,
  body: object,
  options: { today?: number; headers?: Record<string, string> } = {},
): Promise<TicketPayload> {
  const witness = buildTicketWitness(account, tree, ticket, chatRequestHash(chain, body, options.headers), options.today ?? utcDay(Date.now()));
  return encodeTicketPayload(await pools.verifier.pool.run((slot) => slot.run((bb) => bb.ticket.prove(witness))));
}

/** The on-chain status of an account: 0 none, 1 active, 2 slashed. */
export async function accountStatus(chain: TestChain, id: bigint): Promise<number> {
  const [, , , status] = await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'accounts', args: [id] });
  return Number(status);
}

/** `AccountSlashed` events of the pool for `id`. */
export async function slashEvents(chain: TestChain, id: bigint): Promise<{ reporter: `0x${string}`; nullifier: bigint; transactionHash: `0x${string}` }[]> {
  const logs = await chain.client.getContractEvents({ address: chain.pool, abi: creditPoolAbi, eventName: 'AccountSlashed', args: { id }, fromBlock: chain.deploymentBlock, strict: true });
  return logs.map((l) => ({ reporter: l.args.reporter, nullifier: l.args.nullifier, transactionHash: l.transactionHash }));
}

/** The dev key the servers under test slash with, and its address. */
export const SLASHER_KEY = ANVIL_KEYS[3];
export const SLASHER_ADDRESS = privateKeyToAccount(SLASHER_KEY).address;
