// Test chain: a real Anvil (spawned from the npm platform binary, killed by PID) with the real
// CreditPool deployed by the real forge script, plus helpers to buy credits, force reorgs and move
// the clock. Metered accounts: the deployment pins a state key; the secret behind it is returned so
// that tests can hand it to the server (ZKC_STATE_KEY).
import { ANVIL_KEYS, startAnvil, type Anvil } from '@zkcredits/core/node';
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { buyCredits, testTokenAbi, waitForReceipt, type StatePublicKey } from '@zkcredits/core';
import { deployContracts } from '@zkcredits/core/node';

export const PRICE_PER_CREDIT = 1_000_000n;

export type TestChain = {
  anvil: Anvil;
  rpcUrl: string;
  chainId: number;
  pool: Address;
  token: Address;
  deploymentBlock: bigint;
  /** Metered accounts: token base units per price unit, and what one call pre-pays (price units). */
  priceUnit: bigint;
  cMax: number;
  /** The state key pinned at deployment. */
  stateKey: StatePublicKey;
  /** Its secret, when known (generated here unless the caller gave only a public key). */
  stateSecret: bigint | undefined;
  client: PublicClient;
  /** Buys one credit per commitment from a funded dev account; returns the new root. */
  buy(commitments: readonly bigint[], account?: number): Promise<{ newRoot: bigint; startIndex: number; blockNumber: bigint }>;
  mine(blocks?: number): Promise<void>;
  /** Moves the chain clock forward by `seconds` and mines a block (e.g. past a state key timelock). */
  increaseTime(seconds: number): Promise<void>;
  snapshot(): Promise<`0x${string}`>;
  revert(id: `0x${string}`): Promise<void>;
  stop(): Promise<void>;
};

export type TestChainOptions = {
  gasLimit?: bigint;
  /**
   * The state key to pin: a secret (its public key is pinned) or only a public key. Default: a fresh
   * secret, returned as `stateSecret`.
   */
  stateKey?: { secret: bigint } | StatePublicKey;
  /** Metered constants (defaults: price unit 1 for the 6-decimal test token, cMax 50,000). */
  priceUnit?: bigint;
  cMax?: number;
};

export async function startTestChain(options: TestChainOptions = {}): Promise<TestChain> {
  const anvil = await startAnvil(options.gasLimit ? { gasLimit: options.gasLimit } : {});
  try {
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    const key = options.stateKey;
    const d = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_KEYS[0],
      pricePerCredit: PRICE_PER_CREDIT,
      owner,
      treasury: owner,
      ...(key === undefined ? {} : 'secret' in key ? { stateSecret: key.secret } : { stateKey: key }),
      ...(options.priceUnit === undefined ? {} : { priceUnit: options.priceUnit }),
      ...(options.cMax === undefined ? {} : { cMax: options.cMax }),
    });
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
      priceUnit: d.priceUnit,
      cMax: d.cMax,
      stateKey: d.stateKey,
      stateSecret: d.stateSecret,
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
      async increaseTime(seconds) {
        await rpc('evm_increaseTime', [seconds]);
        await rpc('evm_mine');
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
