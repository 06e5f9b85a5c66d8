/** `buy`, `balance`, `sync`: credits bought, counted and matched against the server's tree. */
import { createWalletClient, defineChain, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { countCredits, type BuyStep, type CreditCounts } from '@zkcredits/client';
import type { Spinner } from 'nanospinner';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { readWalletKey } from '../secrets.js';

const STEP_TEXT: Record<BuyStep, string> = {
  generate: 'Drawing new credentials',
  save: 'Saving them (pending) in the vault',
  approve: 'Approving the payment token',
  sign: 'Signing the permit',
  send: 'Sending the purchase',
  confirm: 'Waiting for the confirmation',
  done: 'Bought',
};

function countsLine(c: CreditCounts): string {
  return `${c.unspent} unspent, ${c.pending} pending, ${c.spent} spent${c.abandoned ? `, ${c.abandoned} abandoned` : ''}`;
}

export async function buy(ctx: Context, count: string, options: { walletKeyFile?: string; permit?: boolean }): Promise<void> {
  const n = Number(count);
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000) throw new CliError('usage', 'Buy a whole number of credits, 1 to 10000.');
  const config = await ctx.home.readConfig();
  const { key } = await readWalletKey(options.walletKeyFile);
  const client = await ctx.client(config, 'buy');
  const network = await ctx.network(config);
  await ctx.out.step('Checking the server', () => client.checkServer());
  const chain = defineChain({ id: config.chainId, name: `chain ${config.chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [config.rpcUrl] } } });
  // The purchase's RPC calls share one identity of their own (a circuit apart from everything else).
  const walletClient = createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(config.rpcUrl, { fetchFn: network.isolatedFetch() }), pollingInterval: 500 });

  let spin: Spinner | undefined;
  let current: BuyStep | undefined;
  let hash: string | undefined;
  try {
    const bought = await client.buy(n, {
      walletClient,
      ...(options.permit ? { permit: true } : {}),
      onStep(step, info) {
        if (info.transactionHash) hash = info.transactionHash;
        if (current) spin?.success({ text: STEP_TEXT[current] });
        current = step;
        if (step === 'done') return;
        spin = ctx.out.spinner(STEP_TEXT[step]);
      },
    });
    const counts = await client.balance();
    ctx.out.result({ ok: true, bought: bought.length, transactionHash: hash, credits: counts });
    ctx.out.line(`Bought ${bought.length} credit${bought.length === 1 ? '' : 's'} (transaction ${hash}).`);
    ctx.out.line(`Credits: ${countsLine(counts)}.`);
  } catch (error) {
    if (current && current !== 'done') spin?.error({ text: STEP_TEXT[current] });
    throw error;
  }
}

export async function balance(ctx: Context): Promise<void> {
  const config = await ctx.home.readConfig();
  const vault = await ctx.vault(config, 'balance');
  const counts = countCredits(vault.list().filter((r) => r.chainId === config.chainId && r.contract.toLowerCase() === config.contract.toLowerCase()));
  ctx.out.result({ ok: true, credits: counts });
  ctx.out.line(`Credits: ${countsLine(counts)}.`);
}

export async function sync(ctx: Context): Promise<void> {
  const config = await ctx.home.readConfig();
  const client = await ctx.client(config, 'sync');
  const state = await ctx.out.step('Syncing the credit tree and checking it against the chain', () => client.sync(), (s) => `Synced ${s.size} leaves (root checked on chain)`);
  ctx.out.result({ ok: true, leaves: state.size, root: `0x${state.root.toString(16)}`, credits: state.credits });
  ctx.out.line(`Credits: ${countsLine(state.credits)}.`);
}
