/**
 * Buying credits: credentials are drawn here and saved `pending` in the store **before** the
 * wallet is asked for anything, so a crash or a lost confirmation never loses a paid credit;
 * core's purchase flow pays (approve + buy, or one permit-signed transaction); the credits become
 * `unspent` once the purchase is confirmed (or, later, once a sync finds them in the tree).
 */
import { decodePurchases, generateCredential, initPoseidon2, sendPurchase, waitForReceipt, type BuyStep as CoreBuyStep } from '@zkcredits/core';
import type { Account, Chain, Hash, PublicClient, Transport, WalletClient } from 'viem';
import { ClientError, briefly } from './errors.js';
import { newId } from '@zkcredits/core/vault';
import { pendingRecord, type CreditRecord, type DeploymentRef } from './records.js';
import type { CreditStore } from './store.js';

/** What a purchase is doing, in order (`approve` or `sign` depending on `permit`). */
export type BuyStep = 'generate' | 'save' | CoreBuyStep | 'done';

export type BuyOptions = {
  /** The buyer's wallet; its account pays (and signs the permit). */
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** Pay with one ERC-2612 permit-signed transaction instead of approve + buy. */
  permit?: boolean;
  /** The most the whole purchase may cost (token base units); default the current price times `n`. */
  maxTotal?: bigint;
  /** Progress, awaited before each wallet request; `transactionHash` once the purchase is sent. */
  onStep?(step: BuyStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

export type BuyContext = { publicClient: PublicClient; store: CreditStore; deployment: DeploymentRef; now(): number };

/** Buys `n` credits; resolves with their records once confirmed (`unspent`). */
export async function buyInto(ctx: BuyContext, n: number, options: BuyOptions): Promise<CreditRecord[]> {
  const { publicClient, store, deployment } = ctx;
  if (!Number.isInteger(n) || n < 1) throw new ClientError('invalid_request', 'Buy at least one credit (a whole number).', { details: String(n), param: 'n' });
  const onStep = async (step: BuyStep, info: { transactionHash?: Hash } = {}) => options.onStep?.(step, info);
  const walletChain = options.walletClient.chain?.id ?? (await options.walletClient.getChainId().catch(() => undefined));
  if (walletChain !== undefined && walletChain !== deployment.chainId) {
    throw new ClientError('purchase_failed', 'The wallet is on another chain. Nothing was paid.', { details: `wallet chain ${walletChain}, credits on chain ${deployment.chainId}` });
  }

  await onStep('generate');
  await initPoseidon2();
  let fromBlock: bigint;
  try {
    fromBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
  } catch (cause) {
    throw new ClientError('chain_unavailable', 'Could not read the chain. Nothing was paid.', { details: briefly(cause), cause });
  }
  const batch = { id: newId(), fromBlock, now: ctx.now() };
  const records = Array.from({ length: n }, () => pendingRecord(generateCredential(), deployment, batch));

  await onStep('save');
  try {
    await store.add(records);
  } catch (cause) {
    throw new ClientError('store_failed', 'The new credits could not be saved, so nothing was bought.', { details: briefly(cause), cause });
  }

  // Nothing was asked of the wallet before this point: the credits are stored as pending.
  let transactionHash: Hash;
  try {
    ({ transactionHash } = await sendPurchase({
      publicClient,
      walletClient: options.walletClient,
      pool: deployment.contract,
      commitments: records.map((r) => BigInt(r.commitment)),
      ...(options.permit ? { permit: true } : {}),
      ...(options.maxTotal !== undefined ? { maxTotal: options.maxTotal } : {}),
      onStep: (step) => onStep(step),
    }));
  } catch (cause) {
    // The purchase never reached the chain: these credits were never paid for.
    await Promise.all(records.map((r) => store.update(r.id, { status: 'abandoned' }).catch(() => undefined)));
    throw new ClientError('purchase_failed', 'The purchase was not sent. Nothing was paid.', { details: briefly(cause), cause });
  }
  await Promise.all(records.map((r) => store.update(r.id, { txHash: transactionHash })));

  await onStep('confirm', { transactionHash });
  let receipt: Awaited<ReturnType<typeof waitForReceipt>>;
  try {
    receipt = await waitForReceipt(publicClient, { hash: transactionHash });
  } catch (cause) {
    throw new ClientError('purchase_failed', 'The purchase was sent but its confirmation could not be read. The credits stay pending and become usable once a sync finds them.', {
      details: `transaction ${transactionHash}: ${briefly(cause)}`,
      cause,
    });
  }
  if (receipt.status !== 'success') {
    await Promise.all(records.map((r) => store.update(r.id, { status: 'abandoned' }).catch(() => undefined)));
    throw new ClientError('purchase_failed', 'The purchase transaction reverted. Nothing was paid.', { details: transactionHash });
  }
  const purchase = decodePurchases(receipt.logs, deployment.contract).find((p) => p.transactionHash === transactionHash);
  const matches = purchase && purchase.commitments.length === records.length && purchase.commitments.every((c, i) => c === BigInt(records[i]!.commitment));
  if (!purchase || !matches) {
    throw new ClientError('purchase_failed', 'The purchase was confirmed but its event does not list these credits. They stay pending; a sync will find them if they were bought.', {
      details: transactionHash,
    });
  }
  const bought = await Promise.all(records.map((r, i) => store.update(r.id, { status: 'unspent', leafIndex: purchase.startIndex + i })));
  await onStep('done', { transactionHash });
  return bought;
}
