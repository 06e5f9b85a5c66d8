/** `wallet-key set` / `wallet-key delete`: the paying wallet's key in the OS keychain entry `buy` and `open` read. */
import { privateKeyToAccount } from 'viem/accounts';
import type { Context } from '../context.js';
import { deleteWalletKey, readNewWalletKey, storeWalletKey } from '../secrets.js';

/** Stores the key from `--from-file` or `ZKC_WALLET_KEY`; prints the address only, never the key. */
export async function walletKeySet(ctx: Context, options: { fromFile?: string }): Promise<void> {
  const { key, source } = await readNewWalletKey(options.fromFile);
  const address = privateKeyToAccount(key).address;
  storeWalletKey(key);
  ctx.out.result({ ok: true, address, entry: 'zkcredits/wallet-key' });
  ctx.out.line(`Kept the wallet key for ${address} (from ${source}) in the OS keychain; buy and open use it when ZKC_WALLET_KEY and --wallet-key-file are not given.`);
}

export async function walletKeyDelete(ctx: Context): Promise<void> {
  const deleted = deleteWalletKey();
  ctx.out.result({ ok: true, deleted });
  ctx.out.line(deleted ? 'Removed the wallet key from the OS keychain.' : 'The OS keychain held no wallet key.');
}
