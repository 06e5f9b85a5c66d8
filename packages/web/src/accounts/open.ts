import { MAX_TICKETS, isZkCreditsError, openAccounts, type OpenStep } from '@zkcredits/core';
import type { Address, Hash, PublicClient, WalletClient } from 'viem';
import { creditPoolAbi } from '../chain/abi';
import { fmt, type Quote } from '../chain/purchase';
import { toWalletError } from '../chain/wallet-errors';
import { AppError } from '../errors';
import { withOpenLock } from '../vault/locks';
import type { AccountRecord, Vault } from '../vault';

export type OpenAccountParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient;
  pool: Address;
  chainId: number;
  /** Calls (tickets) the account pays for: 1 … 65,535. */
  calls: number;
  vault: Vault;
  /** Use an ERC-2612 permit (one transaction) when the token supports it. */
  usePermit: boolean;
  /**
   * The quote the buyer was shown. A higher price per call now is refused before anything is
   * signed, and the contract refuses one raised later (`maxTotal`).
   */
  quote: Quote;
  onStep(step: OpenStep, info?: { txHash?: Hash }): void;
};

/**
 * Opens one v2 account for `calls` calls through core's one opening flow (`openAccounts`): the
 * account secret is derived from the vault's master secret and saved `pending` before the wallet
 * is asked for anything; then a permit-signed `openFlatWithPermit`, or approve + `openFlat`.
 * Openings are one at a time across tabs (Web Lock), so two never derive the same secret.
 * Errors are `AppError`s in the wallet's words, as for credits.
 */
export async function openAccount(p: OpenAccountParameters): Promise<AccountRecord> {
  const account = p.walletClient.account;
  if (!account) throw new AppError('wallet_not_connected', 'Connect your wallet first.');
  const walletChain = await p.walletClient.getChainId().catch(() => undefined);
  if (walletChain !== undefined && walletChain !== p.chainId) {
    throw new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (!Number.isInteger(p.calls) || p.calls < 1 || p.calls > MAX_TICKETS) {
    throw new AppError('wallet_failed', `An account pays for 1 to ${MAX_TICKETS.toLocaleString('en-US')} calls.`);
  }
  const shown = p.quote.accounts;
  if (!shown) throw new AppError('purchase_reverted', 'This deployment does not sell accounts.');

  const total = shown.pricePerTicket * BigInt(p.calls);
  const price = await p.publicClient.readContract({
    address: p.pool,
    abi: creditPoolAbi,
    functionName: 'pricePerTicket',
  });
  if (price > shown.pricePerTicket) {
    throw new AppError(
      'price_changed',
      `The price went up from ${fmt(shown.pricePerTicket, p.quote)} to ${fmt(price, p.quote)} per call. Nothing was paid: check the new total and open the account again.`,
    );
  }

  let step: OpenStep = 'derive';
  try {
    const [opened] = await withOpenLock(() =>
      openAccounts({
        publicClient: p.publicClient,
        walletClient: p.walletClient,
        store: p.vault,
        pool: p.pool,
        chainId: p.chainId,
        tickets: [p.calls],
        permit: p.usePermit && p.quote.permit,
        maxTotal: total,
        quote: { token: p.quote.token, pricePerTicket: shown.pricePerTicket },
        onStep(next, info) {
          step = next;
          p.onStep(next, info.transactionHash ? { txHash: info.transactionHash } : undefined);
        },
      }),
    );
    return opened!;
  } catch (error) {
    throw openingError(error, step, p.quote);
  }
}

/**
 * Core's `opening_failed` says whether anything was paid; when the wallet or the contract refused
 * before anything was sent, the wallet's own words (as for credits) say it better.
 */
export function openingError(error: unknown, step: OpenStep, quote: Quote): unknown {
  if (!isZkCreditsError(error, 'opening_failed')) return error;
  const notSent = step === 'approve' || step === 'sign' || step === 'send';
  if (notSent && error.cause) {
    const wallet = toWalletError(error.cause, quote);
    if (step === 'approve' && wallet.code === 'wallet_failed') {
      return new AppError('purchase_reverted', 'The token approval failed. Nothing was paid.', { details: wallet.details, cause: error });
    }
    if (wallet.code !== 'wallet_failed') return wallet;
  }
  return new AppError('opening_failed', error.shortMessage, { details: error.details, cause: error });
}
