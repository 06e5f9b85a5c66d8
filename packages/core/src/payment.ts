// The payment steps shared by v1 purchases (`buy.ts`) and v2 account openings (`v2/open.ts`):
// an ERC-2612 permit signed for the most the transaction may pull, or an approval of the total
// when the allowance is short. One place, so both flows pay the same way.
import { type Account, type Address, type Chain, type Hex, type PublicClient, type Transport, type WalletClient, maxUint256 } from 'viem';
import { testTokenAbi } from './generated/abis.js';
import { ZkCreditsError } from './errors.js';
import { permitDomain, signPermit } from './permit.js';
import { waitForReceipt } from './receipt.js';

type Wallet = WalletClient<Transport, Chain | undefined, Account | undefined>;

/** Whether `token` takes ERC-2612 permits (its EIP-712 domain reproduces its `DOMAIN_SEPARATOR()`). */
export async function supportsPermit(publicClient: PublicClient, token: Address): Promise<boolean> {
  const chainId = publicClient.chain?.id ?? (await publicClient.getChainId());
  return (await permitDomain(publicClient, token, chainId)) !== undefined;
}

/**
 * Signs a permit letting `spender` pull up to `value` of `token` within the next hour. Throws
 * `contract_error` when the token does not support permits (nothing was asked of the wallet).
 */
export async function signPaymentPermit(p: {
  publicClient: PublicClient;
  walletClient: Wallet;
  account: Account;
  token: Address;
  spender: Address;
  value: bigint;
  onSign?: () => void | Promise<void>;
}): Promise<{ deadline: bigint; v: number; r: Hex; s: Hex }> {
  const chainId = p.publicClient.chain?.id ?? (await p.publicClient.getChainId());
  const domain = await permitDomain(p.publicClient, p.token, chainId);
  if (!domain) {
    throw new ZkCreditsError('contract_error', 'the payment token does not support ERC-2612 permits', {
      details: 'pay with approve + the plain call instead (permit: false)',
    });
  }
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
  await p.onSign?.();
  const { v, r, s } = await signPermit({ publicClient: p.publicClient, walletClient: p.walletClient, account: p.account, domain, token: p.token, spender: p.spender, value: p.value, deadline });
  return { deadline, v, r, s };
}

/**
 * Approves `spender` for `total` (or unlimited) when the allowance is short, and waits for the
 * approval. Throws `contract_error` when it reverted (nothing was paid).
 */
export async function approveIfShort(p: {
  publicClient: PublicClient;
  walletClient: Wallet;
  account: Account;
  token: Address;
  spender: Address;
  total: bigint;
  approve?: 'exact' | 'unlimited' | undefined;
  onApprove?: () => void | Promise<void>;
}): Promise<void> {
  const allowance = await p.publicClient.readContract({ address: p.token, abi: testTokenAbi, functionName: 'allowance', args: [p.account.address, p.spender] });
  if (allowance >= p.total) return;
  await p.onApprove?.();
  const approveHash = await p.walletClient.writeContract({
    account: p.account,
    chain: p.walletClient.chain,
    address: p.token,
    abi: testTokenAbi,
    functionName: 'approve',
    args: [p.spender, p.approve === 'unlimited' ? maxUint256 : p.total],
  });
  const approval = await waitForReceipt(p.publicClient, { hash: approveHash });
  if (approval.status !== 'success') {
    throw new ZkCreditsError('contract_error', 'the token approval reverted; nothing was paid', { details: approveHash });
  }
}
