import { openMeteredAccount, type MeteredAccountRecord, type OpenStep } from '@zkcredits/core';
import type { Address, Hash, PublicClient, WalletClient } from 'viem';
import { creditPoolAbi } from '../chain/abi';
import { fmt, type Quote } from '../chain/purchase';
import { AppError } from '../errors';
import { LANE_CHOICES, lanesLog2, meteredTotal, type Lanes, type MeteredParams } from '../metered/money';
import { withOpenLock } from '../vault/locks';
import type { Vault } from '../vault';
import { openingError } from './open';

export type OpenMeteredParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient;
  pool: Address;
  chainId: number;
  /** Deposit per lane and stake per lane, in price units; `lanes` of each. */
  dLane: number;
  sLane: number;
  lanes: Lanes;
  vault: Vault;
  /** Use an ERC-2612 permit (one transaction) when the token supports it. */
  usePermit: boolean;
  /** The quote the buyer was shown (token, permit support). */
  quote: Quote;
  /** The deployment's price unit and C_max the total was shown with. */
  params: MeteredParams;
  onStep(step: OpenStep, info?: { txHash?: Hash }): void;
};

/**
 * Opens one metered account through core's one opening flow (`openMeteredAccount`): the account
 * secret is derived from the vault's master secret and the record saved `pending` before the wallet
 * is asked for anything; then a permit-signed `openMeteredWithPermit`, or approve + `openMetered`,
 * with `maxTotal` at the total shown (`(deposit + stake) · lanes`). Openings are one at a time across
 * tabs (Web Lock), so two never derive the same secret. Errors are `AppError`s in the wallet's words.
 */
export async function openMetered(p: OpenMeteredParameters): Promise<MeteredAccountRecord> {
  const account = p.walletClient.account;
  if (!account) throw new AppError('wallet_not_connected', 'Connect your wallet first.');
  const walletChain = await p.walletClient.getChainId().catch(() => undefined);
  if (walletChain !== undefined && walletChain !== p.chainId) {
    throw new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (!LANE_CHOICES.includes(p.lanes)) throw new AppError('wallet_failed', 'An account has 1, 2, 4 or 8 lanes.');
  if (p.dLane < p.params.cMax) {
    throw new AppError('wallet_failed', `The deposit per lane must cover at least one call at its most (${fmt(BigInt(p.params.cMax) * p.params.priceUnit, p.quote)}).`);
  }
  if (p.sLane < 1) throw new AppError('wallet_failed', 'The stake per lane must be more than nothing.');
  const terms = { dLane: p.dLane, lanesLog2: lanesLog2(p.lanes), sLane: p.sLane };
  const total = meteredTotal(p.dLane, p.sLane, p.lanes, p.params);
  const price = await p.publicClient.readContract({
    address: p.pool,
    abi: creditPoolAbi,
    functionName: 'meteredPrice',
    args: [BigInt(terms.dLane), BigInt(terms.lanesLog2), BigInt(terms.sLane)],
  });
  if (price > total) {
    throw new AppError('price_changed', `This account now costs ${fmt(price, p.quote)}, not ${fmt(total, p.quote)}. Nothing was paid: check the new total and open it again.`);
  }

  let step: OpenStep = 'derive';
  try {
    return await withOpenLock(() =>
      openMeteredAccount({
        publicClient: p.publicClient,
        walletClient: p.walletClient,
        store: p.vault,
        pool: p.pool,
        chainId: p.chainId,
        terms,
        permit: p.usePermit && p.quote.permit,
        maxTotal: total,
        quote: { token: p.quote.token, price },
        onStep(next, info) {
          step = next;
          p.onStep(next, info.transactionHash ? { txHash: info.transactionHash } : undefined);
        },
      }),
    );
  } catch (error) {
    throw openingError(error, step, p.quote);
  }
}
