/**
 * The paying wallet for `buy` and `open`: its key from `ZKC_WALLET_KEY`, `--wallet-key-file` or the
 * keychain (`secrets.ts`), never argv, never written anywhere; its RPC calls share one network
 * identity of their own (a circuit apart from everything else the command sends).
 */
import { createWalletClient, defineChain, http, type Account, type Chain, type Transport, type WalletClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Context } from './context.js';
import type { CliConfig } from './home.js';

export type PayingWallet = WalletClient<Transport, Chain, Account>;

/** A wallet client on the configured chain for `key`, its requests through one isolated identity. */
export async function payingWallet(ctx: Context, config: CliConfig, key: `0x${string}`): Promise<PayingWallet> {
  const network = await ctx.network(config);
  const chain = defineChain({
    id: config.chainId,
    name: `chain ${config.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  return createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(config.rpcUrl, { fetchFn: network.isolatedFetch() }), pollingInterval: 500 });
}
