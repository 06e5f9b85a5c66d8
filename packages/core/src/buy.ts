// Buying credits: one flow for every client (scripts, tests, the web app). `sendPurchase`
// stops once the purchase transaction is sent, for callers that keep their own records of
// what is in flight; `buyCredits` also waits for it and returns the decoded purchase.
import { type Account, type Address, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { creditPoolAbi, testTokenAbi } from './generated/abis.js';
import { ZkCreditsError, findErrorByName, isZkCreditsError } from './errors.js';
import { approveIfShort, signPaymentPermit } from './payment.js';
import { decodePurchases } from './purchases.js';
import { waitForReceipt } from './receipt.js';

/**
 * The CreditPool ABI plus the payment token's errors (OpenZeppelin ERC-20), so that a purchase
 * the token refuses (`ERC20InsufficientBalance`, `ERC20InsufficientAllowance`) is reported by name.
 */
export const purchaseAbi = [...creditPoolAbi, ...testTokenAbi.filter((item) => item.type === 'error')] as const;

/** What a purchase is doing, in order: `approve` (only without a permit, when the allowance is short) or `sign` (permit), then `send`, then `confirm`. */
export type BuyStep = 'approve' | 'sign' | 'send' | 'confirm';

export type SendPurchaseParameters = {
  publicClient: PublicClient;
  /** The buyer's wallet; its account pays and, with a permit, signs. */
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  pool: Address;
  commitments: readonly bigint[];
  /** Pay with one ERC-2612 permit-signed transaction instead of approve + buy. */
  permit?: boolean;
  /** Approve exactly the total (default) or unlimited. */
  approve?: 'exact' | 'unlimited';
  /**
   * The most the whole purchase may cost (token base units). Default: the current price times the
   * number of commitments, read just before sending. The contract reverts with `PriceAboveMax` if the
   * price is raised before the transaction lands, so no allowance can be charged more than this.
   */
  maxTotal?: bigint;
  /** The pool's payment token and price per credit when the caller has just read them (e.g. for a quote it showed); read from the pool otherwise. */
  quote?: { token: Address; price: bigint };
  /**
   * Called (and awaited) before each step that asks the wallet for something, and with the
   * transaction hash once the purchase is sent (`confirm`, `buyCredits` only).
   */
  onStep?(step: BuyStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

export type SendPurchaseResult = { transactionHash: Hash; maxTotal: bigint };

/**
 * Pays for one credit per commitment and returns once the purchase transaction is sent.
 * Without a permit, approves the total first when the allowance is short and waits for that
 * approval. The purchase is simulated before the wallet is asked to send it, so a purchase the
 * contract or token would refuse fails with the reason by name and costs nothing. Errors are
 * `ZkCreditsError`s (`contract_error`) with the wallet's or viem's error as `cause`.
 *
 * @example
 * const { transactionHash } = await sendPurchase({ publicClient, walletClient, pool, commitments, permit: true });
 */
export async function sendPurchase(params: SendPurchaseParameters): Promise<SendPurchaseResult> {
  const { publicClient, walletClient, pool, commitments, onStep } = params;
  try {
    const account = walletClient.account;
    if (!account) throw new ZkCreditsError('contract_error', 'the wallet client has no account to pay with');
    const [token, price] = params.quote
      ? [params.quote.token, params.quote.price]
      : await Promise.all([
          publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' }),
          publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'pricePerCredit' }),
        ]);
    const total = price * BigInt(commitments.length);
    const maxTotal = params.maxTotal ?? total;
    if (total > maxTotal) {
      throw new ZkCreditsError('contract_error', 'the price is above the buyer\'s maximum', {
        details: `${commitments.length} credits cost ${total} base units now, maxTotal is ${maxTotal}`,
      });
    }
    const send = { account, chain: walletClient.chain, address: pool, abi: purchaseAbi } as const;
    let hash: Hash;
    if (params.permit) {
      const { deadline, v, r, s } = await signPaymentPermit({ publicClient, walletClient, account, token, spender: pool, value: maxTotal, onSign: () => onStep?.('sign', {}) });
      const args = [[...commitments], maxTotal, deadline, v, r, s] as const;
      await onStep?.('send', {});
      await publicClient.simulateContract({ ...send, functionName: 'buyWithPermit', args });
      hash = await walletClient.writeContract({ ...send, functionName: 'buyWithPermit', args });
    } else {
      await approveIfShort({ publicClient, walletClient, account, token, spender: pool, total, approve: params.approve, onApprove: () => onStep?.('approve', {}) });
      const args = [[...commitments], maxTotal] as const;
      await onStep?.('send', {});
      await publicClient.simulateContract({ ...send, functionName: 'buy', args });
      hash = await walletClient.writeContract({ ...send, functionName: 'buy', args });
    }
    return { transactionHash: hash, maxTotal };
  } catch (error) {
    throw toContractError(error);
  }
}

export type BuyCreditsParameters = SendPurchaseParameters;

export type BuyCreditsResult = { transactionHash: Hash; startIndex: number; newRoot: bigint; amountPaid: bigint; gasUsed: bigint };

/**
 * Buys one credit per commitment (`sendPurchase`), waits for the receipt and decodes the
 * purchase from it. Save the credentials before calling: once the transaction is sent they
 * are paid for, whatever happens to this call.
 */
export async function buyCredits(params: BuyCreditsParameters): Promise<BuyCreditsResult> {
  const { transactionHash: hash } = await sendPurchase(params);
  try {
    await params.onStep?.('confirm', { transactionHash: hash });
    const receipt = await waitForReceipt(params.publicClient, { hash });
    if (receipt.status !== 'success') {
      throw new ZkCreditsError('contract_error', 'purchase transaction reverted', { details: hash });
    }
    const purchase = decodePurchases(receipt.logs, params.pool).find((p) => p.transactionHash === hash);
    if (!purchase) throw new ZkCreditsError('contract_error', 'purchase event not found in the receipt', { details: hash });
    return { transactionHash: hash, startIndex: purchase.startIndex, newRoot: purchase.newRoot, amountPaid: purchase.amountPaid, gasUsed: receipt.gasUsed };
  } catch (error) {
    throw toContractError(error);
  }
}

/**
 * Maps a viem contract error to the core family, keeping the decoded custom error name and args.
 * Matches viem's errors by name and shape: the caller's viem may be another copy than ours.
 */
export function toContractError(error: unknown): unknown {
  if (isZkCreditsError(error)) return error;
  const shortMessage = (error as { shortMessage?: unknown } | null)?.shortMessage;
  if (typeof shortMessage !== 'string') return error; // not a viem error
  const revert = findErrorByName(error, 'ContractFunctionRevertedError') as { data?: { errorName: string; args?: readonly unknown[] } } | undefined;
  if (revert?.data) {
    const args = (revert.data.args ?? []).map(String).join(', ');
    return new ZkCreditsError('contract_error', `contract reverted: ${revert.data.errorName}(${args})`, { cause: error });
  }
  return new ZkCreditsError('contract_error', shortMessage, { cause: error });
}
