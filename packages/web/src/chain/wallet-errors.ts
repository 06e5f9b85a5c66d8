import { formatUnits } from 'viem';
import { findErrorByName } from '@zkcredits/core';
import { AppError, isAppError } from '../errors';

export type MoneyContext = { symbol: string; decimals: number };

/**
 * Turns whatever a wallet, RPC or contract threw into one sentence a person can act on.
 * Nothing here is shown raw: unknown errors get a generic sentence plus details.
 */
export function toWalletError(error: unknown, money?: MoneyContext): AppError {
  if (isAppError(error)) return error;
  // Matched by name, never instanceof: wallets and connectors may throw from their own copy of viem.
  const code = rpcErrorCode(error);
  if (findErrorByName(error, 'UserRejectedRequestError') || code === 4001) {
    return new AppError('wallet_rejected', 'You declined the request in your wallet. Nothing was paid.');
  }
  if (findErrorByName(error, 'ChainMismatchError') || code === 4902) {
    return new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (findErrorByName(error, 'InsufficientFundsError')) {
    return new AppError('wallet_insufficient_funds', 'Your wallet does not have enough ETH to pay the network fee.');
  }
  const revert = findErrorByName(error, 'ContractFunctionRevertedError') as { data?: { errorName: string; args?: readonly unknown[] } } | undefined;
  if (revert?.data) {
    const { errorName, args = [] } = revert.data;
    const fmt = (v: unknown) => (money ? `${formatUnits(BigInt(v as bigint), money.decimals)} ${money.symbol}` : String(v));
    if (errorName === 'ERC20InsufficientBalance') {
      return new AppError('wallet_insufficient_funds', `Not enough ${money?.symbol ?? 'tokens'}: you have ${fmt(args[1])}, this purchase costs ${fmt(args[2])}.`);
    }
    if (errorName === 'ERC20InsufficientAllowance') {
      return new AppError('wallet_failed', 'The token approval is smaller than the purchase. Approve again and retry.');
    }
    if (errorName === 'BatchTooLarge') {
      return new AppError('wallet_failed', `That is more credits than one purchase allows (at most ${String(args[1])}).`);
    }
    if (errorName === 'PriceAboveMax') {
      return new AppError('price_changed', `The price went up: this purchase now costs ${fmt(args[0])}, more than the ${fmt(args[1])} you agreed to. Nothing was paid.`);
    }
    if (errorName === 'TreeFull') {
      return new AppError('purchase_reverted', 'This deployment has sold all the credits it can hold.');
    }
    return new AppError('purchase_reverted', 'The contract refused the purchase. Nothing was paid.', { details: errorName });
  }
  const shortMessage = (error as { shortMessage?: unknown } | null)?.shortMessage;
  const message = typeof shortMessage === 'string' ? shortMessage : error instanceof Error ? error.message : String(error);
  if (/insufficient funds/i.test(message)) {
    return new AppError('wallet_insufficient_funds', 'Your wallet does not have enough ETH to pay the network fee.');
  }
  if (/chain|network/i.test(message) && /mismatch|switch|unsupported/i.test(message)) {
    return new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (/connector not connected|not connected/i.test(message)) {
    return new AppError('wallet_not_connected', 'Connect your wallet first.');
  }
  return new AppError('wallet_failed', 'The wallet could not complete the request.', { details: message.slice(0, 200) });
}

/** The first numeric EIP-1193 / JSON-RPC `code` in the error and its causes. */
function rpcErrorCode(error: unknown): number | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = error; typeof e === 'object' && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}
