import { creditPoolAbi as poolAbi, testTokenAbi } from '@zkcredits/core';

/**
 * The CreditPool ABI (generated from the forge build) plus the ERC-20 errors a payment can
 * revert with, so wallet and simulation errors decode into names the UI can explain.
 */
export const creditPoolAbi = [...poolAbi, ...testTokenAbi.filter((item) => item.type === 'error')] as const;

/**
 * ERC-20 + ERC-2612 permit + ERC-5267 `eip712Domain`: standard signatures, taken from the
 * generated test-token ABI (OpenZeppelin ERC20Permit). Any payment token is read through it.
 */
export const erc20Abi = testTokenAbi;
