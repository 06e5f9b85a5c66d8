/**
 * `open <n>`: a protocol v2 flat account paying for `n` calls, one ticket each, opened through the
 * SDK (core's one opening flow: the account secret derives from the vault's master secret and its
 * record is saved `pending` before the wallet is asked for anything). `open --metered`: a metered
 * account (pay what each call really costs): `--lanes` lanes sharing `--deposit` and `--stake`
 * (money, totals split evenly over the lanes). Before the vault's first account it says plainly
 * what reusing a ticket costs, and asks (`--yes` for scripts).
 * Also how accounts are shown (`balance`, `import`).
 */
import { createInterface } from 'node:readline/promises';
import { MAX_TICKETS, creditPoolAbi, type OpenStep } from '@zkcredits/core';
import type { AccountBalance, MeteredAccountBalance, ZkCreditsClient } from '@zkcredits/client';
import { erc20Abi, formatUnits, parseUnits } from 'viem';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { readWalletKey } from '../secrets.js';
import { payingWallet } from '../wallet.js';

const STEP_TEXT: Record<OpenStep, string> = {
  derive: 'Deriving the account secret from the vault’s master secret',
  save: 'Saving the account (pending) in the vault',
  approve: 'Approving the payment token',
  sign: 'Signing the permit',
  send: 'Sending the opening',
  confirm: 'Waiting for the confirmation',
  done: 'Opened',
};

/** Shown before a vault's first account (issue 12, "Decided details"; PROTOCOL.md, "A slash reveals k"). */
export const TICKET_WARNING = `Before your first account, read this:
  An account pays for many calls, one ticket per call, and each ticket may pay for ONE request only.
  If a ticket is ever used for two different requests, the account secret becomes public: anyone can
  then link all of this account's past calls to one another and to the payment that opened it, and
  the account is closed.
  zkcredits prevents this (it writes each ticket down before sending it, and one process at a time
  uses a vault), but only within one vault. Never use the same accounts from two copies of a vault
  at the same time, e.g. a restored backup on another machine while this one is still in use.`;

/** Shown before a vault's first account when it is a metered one. */
export const METERED_WARNING = `Before your first account, read this:
  A metered account pays what each call really costs: every call pre-pays C_max from one of its
  lanes and the server signs a refund of the rest. Each lane is a chain of calls, and each position
  of a lane may pay for ONE request only. If a position is ever used for two different requests, the
  account secret becomes public: anyone can then link all of this account's past calls to one
  another and to the payment that opened it, and the account is closed.
  zkcredits prevents this (it writes each call down before sending it, and one process at a time
  uses a vault), but only within one vault. Never use the same accounts from two copies of a vault
  at the same time, e.g. a restored backup on another machine while this one is still in use.
  The stake covers penalties the server may sign for calls that break its published policy; a lane
  whose penalties reach its stake is frozen.`;

/** The public account id, short: `0x1a2b3c…9f3e`. */
export function shortId(accountId: string): string {
  return `${accountId.slice(0, 8)}…${accountId.slice(-4)}`;
}

/** The last UTC day an account can be used, as a date (`2026-03-14`). */
export function dayToDate(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** One account as `balance` and `import` report it: public facts only, never the secret. */
export type AccountView = {
  accountId: string;
  status: AccountBalance['status'];
  calls: number;
  callsLeft: number;
  expiryDay?: number;
  expires?: string;
  expired: boolean;
  burned: number;
  inFlight: number;
  /** Restored from a backup, its counter not brought up to date yet: it pays nothing until `sync` recovers it. */
  recoveryNeeded: boolean;
};

export function accountView(a: AccountBalance, accountId: string): AccountView {
  return {
    accountId,
    status: a.status,
    calls: a.tickets,
    callsLeft: a.callsLeft,
    ...(a.expiryDay !== undefined ? { expiryDay: a.expiryDay, expires: dayToDate(a.expiryDay) } : {}),
    expired: a.expired,
    burned: a.burned,
    inFlight: a.inFlight,
    recoveryNeeded: a.recoveryNeeded,
  };
}

/** One metered account as `balance` and `sync` report it: public facts and amounts, never the secret or a lane state. */
export type MeteredView = {
  accountId: string;
  status: MeteredAccountBalance['status'];
  lanes: number;
  /** What the lanes hold, in price units and in token base units (decimal string) and as money text. */
  priceUnits: number;
  money: string;
  moneyText: string;
  /** Calls the balance still covers at C_max. */
  callsAtCmax: number;
  cMax: number;
  cMaxText: string;
  /** Calls whose state has not come back yet (their refunds are not counted). */
  pending: number;
  penalties: number;
  frozenLanes: number;
  staleLanes: number;
  expiryDay?: number;
  expires?: string;
  expired: boolean;
  recoveryNeeded: boolean;
};

/** Token base units as money: `2.306655 tUSD` with the token's decimals, else `… base units`. */
export function moneyText(units: bigint, token: { decimals: number; symbol?: string } | undefined): string {
  if (!token) return `${units} base units`;
  return `${formatUnits(units, token.decimals)}${token.symbol ? ` ${token.symbol}` : ''}`;
}

export function meteredView(a: MeteredAccountBalance, accountId: string): MeteredView {
  return {
    accountId,
    status: a.status,
    lanes: a.lanes,
    priceUnits: a.priceUnits,
    money: a.money.toString(),
    moneyText: moneyText(a.money, a.token),
    callsAtCmax: a.callsAtCmax,
    cMax: a.cMax,
    cMaxText: moneyText(BigInt(a.cMax) * a.priceUnit, a.token),
    pending: a.pending,
    penalties: a.penalties,
    frozenLanes: a.frozenLanes,
    staleLanes: a.staleLanes,
    ...(a.expiryDay !== undefined ? { expiryDay: a.expiryDay, expires: dayToDate(a.expiryDay) } : {}),
    expired: a.expired,
    recoveryNeeded: a.recoveryNeeded,
  };
}

/** `0x1a2b3c…9f3e  metered  2.306655 tUSD left, 46 calls at C_max (0.05 tUSD)  4 lanes  until 2026-03-14  open`. */
export function meteredLine(v: MeteredView): string {
  const state =
    v.status !== 'open' ? v.status : v.expired ? 'expired' : v.recoveryNeeded ? 'needs recovery (`zkcredits sync`)' : v.callsAtCmax === 0 ? 'used up' : 'open';
  const notes = [
    v.pending > 0 ? `${v.pending} call${v.pending === 1 ? '' : 's'} awaiting ${v.pending === 1 ? 'its' : 'their'} refund` : '',
    v.frozenLanes > 0 ? `${v.frozenLanes} lane${v.frozenLanes === 1 ? '' : 's'} frozen by penalties` : '',
    v.staleLanes > 0 ? `${v.staleLanes} lane${v.staleLanes === 1 ? '' : 's'} used by another copy` : '',
  ].filter(Boolean);
  const until = v.expires ? `  until ${v.expires}` : '';
  return `${shortId(v.accountId)}  metered  ${v.moneyText} left, ${v.callsAtCmax} call${v.callsAtCmax === 1 ? '' : 's'} at C_max (${v.cMaxText})  ${v.lanes} lane${v.lanes === 1 ? '' : 's'}${until}  ${state}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** `0x1a2b3c…9f3e  1 of 3 calls left  until 2026-03-14  open`. */
export function accountLine(v: AccountView): string {
  const state =
    v.status !== 'open' ? v.status : v.expired ? 'expired' : v.recoveryNeeded ? 'needs recovery (`zkcredits sync`)' : v.callsLeft === 0 ? 'used up' : 'open';
  const burned = v.burned > 0 ? ` (${v.burned} burned)` : '';
  const until = v.expires ? `  until ${v.expires}` : '';
  return `${shortId(v.accountId)}  ${v.callsLeft} of ${v.calls} call${v.calls === 1 ? '' : 's'} left${burned}${until}  ${state}`;
}

/** Asks on the terminal; `--yes` answers for scripts; refuses without either. */
async function confirm(ctx: Context, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError('confirmation_required', 'Opening a first account needs your confirmation.', {
      details: 'Read the warning above, then run again with --yes (or on a terminal, to be asked).',
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  let answer: string;
  try {
    answer = (await rl.question('Open the account? Type "yes" to go on: ')).trim().toLowerCase();
  } catch {
    answer = '';
  } finally {
    rl.close();
  }
  if (answer !== 'yes' && answer !== 'y') throw new CliError('confirmation_required', 'Nothing was opened or paid.');
  ctx.out.note('');
}

/**
 * What every opening does before it pays: reads the config and the wallet key, warns (and asks)
 * before the vault's first account of any kind, and checks the server.
 */
async function beginOpening(ctx: Context, options: OpenOptions, warning: string) {
  const config = await ctx.home.readConfig();
  const { key } = await readWalletKey(options.walletKeyFile);
  const vault = await ctx.vault(config, 'open');
  const first = vault.accounts().length === 0 && vault.meteredAccounts().length === 0;
  if (first) {
    ctx.out.note(warning);
    await confirm(ctx, options.yes);
  }
  const client = await ctx.client(config, 'open');
  await ctx.out.step('Checking the server', () => client.checkServer());
  return { config, key, client, first };
}

export type OpenOptions = { walletKeyFile?: string; permit?: boolean; yes?: boolean; metered?: boolean; lanes?: string; deposit?: string; stake?: string };

export async function open(ctx: Context, count: string | undefined, options: OpenOptions): Promise<void> {
  if (options.metered) return openMetered(ctx, count, options);
  if (options.lanes !== undefined || options.deposit !== undefined || options.stake !== undefined) {
    throw new CliError('usage', '--lanes, --deposit and --stake open a metered account: add --metered.');
  }
  const n = Number(count);
  if (count === undefined || !Number.isSafeInteger(n) || n < 1 || n > MAX_TICKETS) throw new CliError('usage', `Open an account for a whole number of calls, 1 to ${MAX_TICKETS}.`);
  const { config, key, client, first } = await beginOpening(ctx, options, TICKET_WARNING);
  const walletClient = await payingWallet(ctx, config, key);

  const steps = ctx.out.stepper(STEP_TEXT, 'done');
  let hash: string | undefined;
  let opened;
  try {
    opened = await client.openAccounts(n, {
      walletClient,
      permit: options.permit === true,
      onStep(step, info) {
        if (info.transactionHash) hash = info.transactionHash;
        steps.onStep(step);
      },
    });
  } catch (error) {
    steps.fail();
    throw error;
  }
  const accounts = opened.map((a) => ({
    accountId: a.accountId,
    calls: a.tickets,
    ...(a.expiryDay !== undefined ? { expiryDay: a.expiryDay, expires: dayToDate(a.expiryDay) } : {}),
  }));
  ctx.out.result({ ok: true, transactionHash: hash, accounts, warned: first });
  for (const a of accounts) {
    ctx.out.line(`Opened account ${shortId(a.accountId)} for ${a.calls} call${a.calls === 1 ? '' : 's'}${a.expires ? `, usable until ${a.expires} (UTC)` : ''} (transaction ${hash}).`);
  }
  ctx.out.line('Chats (`chat`, `serve`) now pay with its tickets first, then with credits.');
}

const MONEY = /^(?:\d{1,30})(?:\.\d{1,36})?$/;

/** The payment token's decimals and symbol (for reading and showing money). */
async function paymentToken(client: ZkCreditsClient): Promise<{ decimals: number; symbol?: string }> {
  const token = await client.publicClient.readContract({ address: client.deployment.contract, abi: creditPoolAbi, functionName: 'paymentToken' });
  const [decimals, symbol] = await Promise.all([
    client.publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
    client.publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }).catch(() => undefined),
  ]);
  return { decimals, ...(typeof symbol === 'string' && /^[A-Za-z0-9._ -]{1,32}$/.test(symbol) ? { symbol } : {}) };
}

/**
 * `open --metered --lanes N --deposit <money> --stake <money>`: `--deposit` and `--stake` are the
 * totals paid (in the payment token, e.g. `10` or `2.5`), split evenly over the N lanes (1, 2, 4 or
 * 8; default 1). The wallet pays deposit + stake.
 */
async function openMetered(ctx: Context, count: string | undefined, options: OpenOptions): Promise<void> {
  if (count !== undefined) throw new CliError('usage', 'A metered account is opened for money, not a number of calls: drop the <n> and give --deposit and --stake.');
  const lanes = Number(options.lanes ?? '1');
  if (![1, 2, 4, 8].includes(lanes)) throw new CliError('usage', '--lanes must be 1, 2, 4 or 8 (calls that can run at once).');
  if (options.deposit === undefined || options.stake === undefined) throw new CliError('usage', 'Give --deposit and --stake (money, totals over all lanes), e.g. --deposit 10 --stake 1.');
  for (const [name, value] of [['--deposit', options.deposit], ['--stake', options.stake]] as const) {
    if (!MONEY.test(value)) throw new CliError('usage', `${name} must be an amount of the payment token, e.g. 10 or 2.5.`, { details: `got ${JSON.stringify(value.slice(0, 40))}` });
  }
  const { config, key, client, first } = await beginOpening(ctx, options, METERED_WARNING);
  const token = await paymentToken(client);
  let deposit: bigint;
  let stake: bigint;
  try {
    deposit = parseUnits(options.deposit, token.decimals);
    stake = parseUnits(options.stake, token.decimals);
  } catch {
    throw new CliError('usage', `--deposit and --stake take at most ${token.decimals} decimals for this token.`);
  }
  const walletClient = await payingWallet(ctx, config, key);
  ctx.out.note(`Paying ${moneyText(deposit + stake, token)}: a deposit of ${moneyText(deposit, token)} and a stake of ${moneyText(stake, token)}, over ${lanes} lane${lanes === 1 ? '' : 's'}.`);

  const steps = ctx.out.stepper(STEP_TEXT, 'done');
  let hash: string | undefined;
  let opened;
  try {
    opened = await client.openMetered({
      walletClient,
      lanes,
      deposit,
      stake,
      permit: options.permit === true,
      onStep(step, info) {
        if (info.transactionHash) hash = info.transactionHash;
        steps.onStep(step);
      },
    });
  } catch (error) {
    steps.fail();
    throw error;
  }
  const balance = (await client.meteredAccounts()).find((a) => a.id === opened.id);
  const view = balance ? meteredView(balance, opened.accountId) : undefined;
  ctx.out.result({ ok: true, transactionHash: hash, metered: view, warned: first });
  ctx.out.line(
    `Opened metered account ${shortId(opened.accountId)} with ${view?.moneyText ?? moneyText(deposit, token)} over ${lanes} lane${lanes === 1 ? '' : 's'}${view ? `: ${view.callsAtCmax} calls at C_max (${view.cMaxText}), usually many more` : ''}${view?.expires ? `, usable until ${view.expires} (UTC)` : ''} (transaction ${hash}).`,
  );
  ctx.out.line('Chats (`chat`, `serve`) now pay what each call costs from it first, then with tickets and credits.');
}
