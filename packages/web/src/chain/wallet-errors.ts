import {
  BaseError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  InsufficientFundsError,
  UserRejectedRequestError,
  formatUnits,
} from 'viem';
import { AppError, isAppError } from '../errors';

export type MoneyContext = { symbol: string; decimals: number };

/**
 * Turns whatever a wallet, RPC or contract threw into one sentence a person can act on.
 * Nothing here is shown raw: unknown errors get a generic sentence plus details.
 */
export function toWalletError(error: unknown, money?: MoneyContext): AppError {
  if (isAppError(error)) return error;
  const base = error instanceof BaseError ? error : undefined;
  const code = (error as { code?: unknown })?.code ?? (base?.walk((e) => typeof (e as { code?: unknown }).code === 'number') as { code?: number } | null)?.code;
  if (base?.walk((e) => e instanceof UserRejectedRequestError) || code === 4001) {
    return new AppError('wallet_rejected', 'You declined the request in your wallet. Nothing was paid.');
  }
  if (base?.walk((e) => e instanceof ChainMismatchError) || code === 4902) {
    return new AppError('wallet_wrong_chain', 'Your wallet is on a different network. Switch it to the network shown at the top and try again.');
  }
  if (base?.walk((e) => e instanceof InsufficientFundsError)) {
    return new AppError('wallet_insufficient_funds', 'Your wallet does not have enough ETH to pay the network fee.');
  }
  const revert = base?.walk((e) => e instanceof ContractFunctionRevertedError);
  if (revert instanceof ContractFunctionRevertedError && revert.data) {
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
    if (errorName === 'TreeFull') {
      return new AppError('purchase_reverted', 'This deployment has sold all the credits it can hold.');
    }
    return new AppError('purchase_reverted', 'The contract refused the purchase. Nothing was paid.', { details: errorName });
  }
  const message = base?.shortMessage ?? (error instanceof Error ? error.message : String(error));
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
