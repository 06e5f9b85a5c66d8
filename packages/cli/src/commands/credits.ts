/** `buy`, `balance`, `sync`: credits bought, counted (beside v2 accounts) and matched against the server's tree. */
import type { Balance, BuyStep, CreditCounts, ZkCreditsClient } from '@zkcredits/client';
import type { Vault } from '@zkcredits/core/vault';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { readWalletKey } from '../secrets.js';
import { payingWallet } from '../wallet.js';
import { accountLine, accountView, meteredLine, meteredView, type AccountView, type MeteredView } from './accounts.js';

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

type BalanceView = { credits: CreditCounts; accounts: AccountView[]; metered: MeteredView[] };

/** A balance split for output: the credit counts, the flat accounts and the metered accounts with their public ids. */
function splitBalance(balance: Balance, vault: Vault): BalanceView {
  const { accounts, ...credits } = balance;
  const flat: AccountView[] = [];
  const metered: MeteredView[] = [];
  for (const a of accounts) {
    if (a.kind === 'flat') flat.push(accountView(a, vault.getAccount(a.id)?.accountId ?? a.id));
    else metered.push(meteredView(a, vault.getMeteredAccount(a.id)?.accountId ?? a.id));
  }
  return { credits, accounts: flat, metered };
}

/** `Credits: …` and, when there are any, the accounts (abandoned openings, which cost nothing, left out). */
function balanceLines(ctx: Context, view: BalanceView): void {
  ctx.out.line(`Credits: ${countsLine(view.credits)}.`);
  const shown = view.accounts.filter((a) => a.status !== 'abandoned');
  if (shown.length > 0) {
    const calls = shown.reduce((sum, a) => sum + (a.recoveryNeeded ? 0 : a.callsLeft), 0);
    ctx.out.line(`Accounts: ${calls} call${calls === 1 ? '' : 's'} left in ${shown.length} account${shown.length === 1 ? '' : 's'}.`);
    for (const a of shown) ctx.out.line(`  ${accountLine(a)}`);
  }
  const metered = view.metered.filter((a) => a.status !== 'abandoned');
  if (metered.length > 0) {
    const calls = metered.reduce((sum, a) => sum + a.callsAtCmax, 0);
    ctx.out.line(`Metered accounts: ${calls} call${calls === 1 ? '' : 's'} at C_max left in ${metered.length} account${metered.length === 1 ? '' : 's'} (a call usually costs much less).`);
    for (const a of metered) ctx.out.line(`  ${meteredLine(a)}`);
  }
}

export async function buy(ctx: Context, count: string, options: { walletKeyFile?: string; permit?: boolean }): Promise<void> {
  const n = Number(count);
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000) throw new CliError('usage', 'Buy a whole number of credits, 1 to 10000.');
  const config = await ctx.home.readConfig();
  const { key } = await readWalletKey(options.walletKeyFile);
  const client = await ctx.client(config, 'buy');
  await ctx.out.step('Checking the server', () => client.checkServer());
  const walletClient = await payingWallet(ctx, config, key);

  const steps = ctx.out.stepper(STEP_TEXT, 'done');
  let hash: string | undefined;
  try {
    const bought = await client.buy(n, {
      walletClient,
      ...(options.permit ? { permit: true } : {}),
      onStep(step, info) {
        if (info.transactionHash) hash = info.transactionHash;
        steps.onStep(step);
      },
    });
    const { accounts: _, ...counts } = await client.balance();
    ctx.out.result({ ok: true, bought: bought.length, transactionHash: hash, credits: counts });
    ctx.out.line(`Bought ${bought.length} credit${bought.length === 1 ? '' : 's'} (transaction ${hash}).`);
    ctx.out.line(`Credits: ${countsLine(counts)}.`);
  } catch (error) {
    steps.fail();
    throw error;
  }
}

/** Credits by status and accounts (calls left, expiry, status), from the vault: nothing is sent. */
export async function balance(ctx: Context): Promise<void> {
  const config = await ctx.home.readConfig();
  const vault = await ctx.vault(config, 'balance');
  const client: ZkCreditsClient = await ctx.offlineClient(config, 'balance');
  const view = splitBalance(await client.balance(), vault);
  ctx.out.result({ ok: true, ...view });
  balanceLines(ctx, view);
}

/**
 * Syncs the tree (checked on chain), settles pending credits and accounts, and recovers accounts
 * whose counters are not known to be up to date (restored from a backup): found on chain, every
 * spent ticket downloaded in bulk.
 */
export async function sync(ctx: Context): Promise<void> {
  const config = await ctx.home.readConfig();
  const client = await ctx.client(config, 'sync');
  const vault = await ctx.vault(config, 'sync');
  let state = await ctx.out.step('Syncing the credit tree and checking it against the chain', () => client.sync(), (s) => `Synced ${s.size} leaves (root checked on chain)`);
  if (state.credits.accounts.some((a) => a.kind === 'flat' && a.recoveryNeeded)) {
    await ctx.out.step('Recovering the accounts restored from a backup (on chain, then the whole spent-ticket list)', () => client.recover());
    state = { ...state, credits: await client.balance() };
  }
  if (state.credits.accounts.some((a) => a.kind === 'metered' && a.recoveryNeeded)) {
    await ctx.out.step('Checking the metered lanes restored from a backup (on chain, then the whole spent list)', () => client.recoverMetered());
    state = { ...state, credits: await client.balance() };
  }
  if (state.credits.accounts.some((a) => a.kind === 'metered' && a.pending > 0)) {
    // Only the calls whose answers were lost: one state question each, for that call.
    await ctx.out.step('Fetching the refunds of metered calls whose answers were lost', () => client.recoverMeteredStates());
    state = { ...state, credits: await client.balance() };
  }
  const view = splitBalance(state.credits, vault);
  ctx.out.result({ ok: true, leaves: state.size, root: `0x${state.root.toString(16)}`, ...view });
  balanceLines(ctx, view);
}
