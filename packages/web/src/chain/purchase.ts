import { formatUnits, type Address, type Hash, type PublicClient, type WalletClient } from 'viem';
import type { TokenInfo } from '../config';
import { AppError } from '../errors';
import type { ProverApi } from '../prover/types';
import { generateSecrets, newId, type CreditRecord, type Vault } from '../vault';
import { creditPoolAbi, erc20Abi } from './abi';
import { decodePurchases, permitDomain, readMeteredParams, sendPurchase, waitForReceipt, type MeteredParams } from '@zkcredits/core';
import { readDeploymentBlockHash } from './chain-reset';
import { markPurchased } from './reconcile';
import { toWalletError, type MoneyContext } from './wallet-errors';

export type PurchaseStep = 'prepare' | 'generate' | 'save' | 'approve' | 'sign' | 'send' | 'confirm' | 'done';

export type Quote = MoneyContext & {
  token: Address;
  price: bigint;
  balance: bigint;
  maxBatch: number;
  permit: boolean;
  /** v2 accounts: the price of one call (ticket) and how many days an account lasts; absent on a pool without accounts. */
  accounts?: { pricePerTicket: bigint; ttlDays: number };
  /** v2 metered accounts: token base units per price unit and C_max (price units); absent on a pool without them. */
  metered?: MeteredParams;
};

/**
 * Price, token and the buyer's balance, for showing before paying. The token's symbol,
 * decimals and permit support come from the deployment manifest (`known`) when it describes
 * the pool's payment token, else from the chain.
 */
export async function getQuote(client: PublicClient, pool: Address, buyer: Address | undefined, known?: TokenInfo): Promise<Quote> {
  const [token, price, maxBatch, accounts, metered] = await Promise.all([
    client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' }),
    client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'pricePerCredit' }),
    client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'maxBatch' }).catch(() => 1024n),
    Promise.all([
      client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'pricePerTicket' }),
      client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'ttlDays' }),
    ]).then(([pricePerTicket, ttlDays]) => ({ pricePerTicket, ttlDays: Number(ttlDays) }), () => undefined),
    readMeteredParams(client, pool).catch(() => undefined),
  ]);
  const manifest = known && known.address.toLowerCase() === token.toLowerCase() ? known : undefined;
  const [symbol, decimals, balance, permit] = await Promise.all([
    manifest?.symbol ?? client.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
    manifest?.decimals ?? client.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
    buyer ? client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [buyer] }) : 0n,
    manifest?.permit ?? permitDomain(client, token, client.chain!.id).then((domain) => domain !== undefined),
  ]);
  return { token, price, symbol, decimals, balance, maxBatch: Number(maxBatch), permit, ...(accounts ? { accounts } : {}), ...(metered ? { metered } : {}) };
}

export type PurchaseParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient;
  pool: Address;
  chainId: number;
  quantity: number;
  vault: Vault;
  prover: Pick<ProverApi, 'commitments'>;
  /** Use an ERC-2612 permit (one transaction) when the token supports it. */
  usePermit: boolean;
  /**
   * The price per credit the buyer was shown. A higher price now is refused before anything is
   * signed, and the contract refuses one raised later (`maxTotal`), even with an unlimited allowance.
   */
  expectedPrice?: bigint;
  /** The payment token as the deployment manifest describes it (else read from the chain). */
  token?: TokenInfo;
  onStep(step: PurchaseStep, info?: { txHash?: Hash }): void;
};

/**
 * Buys `quantity` credits. The credentials are generated locally and saved to the vault as
 * pending BEFORE anything is sent, so a closed tab or a crash never loses paid credits;
 * they become spendable once their commitments are seen in a `CreditsPurchased` event.
 */
export async function purchaseCredits(p: PurchaseParameters): Promise<CreditRecord[]> {
  const account = p.walletClient.account;
  if (!account) throw new AppError('wallet_not_connected', 'Connect your wallet first.');
  const walletChain = await p.walletClient.getChainId().catch(() => undefined);
  if (walletChain !== undefined && walletChain !== p.chainId) {
    throw new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (!Number.isInteger(p.quantity) || p.quantity < 1) throw new AppError('wallet_failed', 'Choose at least one credit.');

  p.onStep('prepare');
  const quote = await getQuote(p.publicClient, p.pool, account.address, p.token);
  if (p.quantity > quote.maxBatch) throw new AppError('wallet_failed', `One purchase can hold at most ${quote.maxBatch} credits.`);
  const agreed = p.expectedPrice ?? quote.price;
  if (quote.price > agreed) {
    throw new AppError(
      'price_changed',
      `The price went up from ${fmt(agreed, quote)} to ${fmt(quote.price, quote)} per credit. Nothing was paid: check the new total and buy again.`,
    );
  }
  const total = quote.price * BigInt(p.quantity);
  const maxTotal = agreed * BigInt(p.quantity);
  if (quote.balance < total) {
    throw new AppError(
      'wallet_insufficient_funds',
      `Not enough ${quote.symbol}: you have ${fmt(quote.balance, quote)}, this purchase costs ${fmt(total, quote)}.`,
    );
  }

  p.onStep('generate');
  const pairs = Array.from({ length: p.quantity }, generateSecrets);
  const hashed = await p.prover.commitments(pairs);
  const [fromBlock, deploymentBlockHash] = await Promise.all([
    p.publicClient.getBlockNumber({ cacheTime: 0 }),
    readDeploymentBlockHash(p.publicClient, p.pool),
  ]);
  const batch = newId();
  const now = Date.now();
  const records: CreditRecord[] = pairs.map((pair, i) => ({
    id: newId(),
    ...pair,
    commitment: hashed[i]!.commitment.toLowerCase() as `0x${string}`,
    status: 'pending',
    chainId: p.chainId,
    contract: p.pool,
    batch,
    fromBlock: fromBlock.toString(),
    deploymentBlockHash,
    createdAt: now,
  }));

  p.onStep('save');
  await p.vault.add(records);

  // The wallet is asked for nothing before this point: the credits are in the vault as pending.
  // Core's purchase flow: approve or permit, `maxTotal` at the price the buyer agreed to, and a
  // simulation before sending, so a refusal is explained by name and costs nothing.
  let step = 'save' as PurchaseStep;
  let hash: Hash;
  try {
    ({ transactionHash: hash } = await sendPurchase({
      publicClient: p.publicClient,
      walletClient: p.walletClient,
      pool: p.pool,
      commitments: records.map((r) => BigInt(r.commitment)),
      permit: p.usePermit && quote.permit,
      maxTotal,
      quote: { token: quote.token, price: quote.price },
      onStep(next) {
        step = next;
        p.onStep(next);
      },
    }));
  } catch (error) {
    // Nothing reached the chain: these credits were never paid for.
    await abandon(p.vault, records);
    const walletError = toWalletError(error, quote);
    if (step === 'approve' && walletError.code === 'wallet_failed') {
      throw new AppError('purchase_reverted', 'The token approval failed. Nothing was paid.', { details: walletError.details, cause: error });
    }
    throw walletError;
  }

  for (const r of records) await p.vault.update(r.id, { txHash: hash });
  p.onStep('confirm', { txHash: hash });
  const receipt = await waitForReceipt(p.publicClient, { hash });
  if (receipt.status !== 'success') {
    await abandon(p.vault, records);
    throw new AppError('purchase_reverted', 'The purchase transaction failed on chain. No credits were bought.', { details: hash });
  }
  const confirmed = await markPurchased(p.vault, decodePurchases(receipt.logs, p.pool), p.pool);
  p.onStep('done', { txHash: hash });
  return confirmed;
}

async function abandon(vault: Vault, records: CreditRecord[]): Promise<void> {
  for (const r of records) await vault.update(r.id, { status: 'abandoned' });
}

export function fmt(amount: bigint, money: MoneyContext): string {
  const [whole = '0', frac = ''] = formatUnits(amount, money.decimals).split('.');
  const cents = frac.padEnd(2, '0').replace(/(\d{2}\d*?)0+$/, '$1');
  return `${BigInt(whole).toLocaleString('en-US')}.${cents} ${money.symbol}`;
}
