/**
 * `open <n>`: a protocol v2 flat account paying for `n` calls, one ticket each, opened through the
 * SDK (core's one opening flow: the account secret derives from the vault's master secret and its
 * record is saved `pending` before the wallet is asked for anything). Before the vault's first
 * account it says plainly what reusing a ticket costs, and asks (`--yes` for scripts).
 * Also how accounts are shown (`balance`, `import`).
 */
import { createInterface } from 'node:readline/promises';
import { MAX_TICKETS, type OpenStep } from '@zkcredits/core';
import type { AccountBalance } from '@zkcredits/client';
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

export async function open(ctx: Context, count: string, options: { walletKeyFile?: string; permit?: boolean; yes?: boolean }): Promise<void> {
  const n = Number(count);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_TICKETS) throw new CliError('usage', `Open an account for a whole number of calls, 1 to ${MAX_TICKETS}.`);
  const config = await ctx.home.readConfig();
  const { key } = await readWalletKey(options.walletKeyFile);
  const vault = await ctx.vault(config, 'open');
  const first = vault.accounts().length === 0;
  if (first) {
    ctx.out.note(TICKET_WARNING);
    await confirm(ctx, options.yes);
  }
  const client = await ctx.client(config, 'open');
  await ctx.out.step('Checking the server', () => client.checkServer());
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
