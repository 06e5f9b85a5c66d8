// Test chain: a real Anvil (spawned from the npm platform binary, killed by PID) with the real
// CreditPool deployed by the real forge script, plus helpers to buy credits and force reorgs.
import { ANVIL_KEYS, startAnvil, type Anvil } from '@zkcredits/core/node';
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { buyCredits, testTokenAbi, waitForReceipt } from '@zkcredits/core';
import { deployContracts } from '@zkcredits/core/node';

export const PRICE_PER_CREDIT = 1_000_000n;

export type TestChain = {
  anvil: Anvil;
  rpcUrl: string;
  chainId: number;
  pool: Address;
  token: Address;
  deploymentBlock: bigint;
  client: PublicClient;
  /** Buys one credit per commitment from a funded dev account; returns the new root. */
  buy(commitments: readonly bigint[], account?: number): Promise<{ newRoot: bigint; startIndex: number; blockNumber: bigint }>;
  mine(blocks?: number): Promise<void>;
  snapshot(): Promise<`0x${string}`>;
  revert(id: `0x${string}`): Promise<void>;
  stop(): Promise<void>;
};

export async function startTestChain(options: { gasLimit?: bigint } = {}): Promise<TestChain> {
  const anvil = await startAnvil(options.gasLimit ? { gasLimit: options.gasLimit } : {});
  try {
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    const d = await deployContracts({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_KEYS[0], pricePerCredit: PRICE_PER_CREDIT, owner, treasury: owner });
    const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
    const wallets = ANVIL_KEYS.map((k) => createWalletClient({ chain: foundry, account: privateKeyToAccount(k), transport: http(anvil.rpcUrl), pollingInterval: 50 }));
    const funded = new Set<number>();
    const rpc = (method: string, params: unknown[] = []) => client.request({ method: method as never, params: params as never });
    return {
      anvil,
      rpcUrl: anvil.rpcUrl,
      chainId: foundry.id,
      pool: d.creditPool,
      token: d.token,
      deploymentBlock: d.deploymentBlock,
      client,
      async buy(commitments, account = 1) {
        const wallet = wallets[account]!;
        if (!funded.has(account)) {
          const hash = await wallet.writeContract({
            address: d.token,
            abi: testTokenAbi,
            functionName: 'mint',
            args: [wallet.account.address, 10n ** 30n],
          });
          await waitForReceipt(client, { hash });
          funded.add(account);
        }
        const r = await buyCredits({ publicClient: client, walletClient: wallet, pool: d.creditPool, commitments, approve: 'unlimited' });
        const receipt = await client.getTransactionReceipt({ hash: r.transactionHash });
        return { newRoot: r.newRoot, startIndex: r.startIndex, blockNumber: receipt.blockNumber };
      },
      async mine(blocks = 1) {
        await rpc('anvil_mine', [`0x${blocks.toString(16)}`]);
      },
      async snapshot() {
        return (await rpc('evm_snapshot')) as `0x${string}`;
      },
      async revert(id) {
        await rpc('evm_revert', [id]);
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
