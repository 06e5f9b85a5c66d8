/**
 * One chat request paid by one ticket of a v2 flat account (PROTOCOL.md, "The retry rule"): sync
 * the tree, pick an open account whose leaf is in it, check the tree against the chain, take a
 * ticket through core's journal (`TicketSpender`: written before anything is sent), prove, send.
 *
 * A ticket only ever travels with the one request it was journaled for. When no outcome is known
 * (no answer, a 5xx, `ticket_in_use`, `invalid_today`, a root the server does not know) it stays
 * in flight in this process, and a retry of the same request re-sends it byte for byte (or proves
 * it again for a new root or day: same nullifier, same share). A final refusal burns it; an answer
 * or `ticket_reused` settles it as served. `account_revoked` marks the account revoked.
 */
import { CHAT_PATH, flatAccountLeaf, isZkCreditsError, requestDigest, utcDay, type AccountRecord, type MerkleTree, type TicketSpend, type TicketSpender } from '@zkcredits/core';
import { ClientError, briefly } from './errors.js';
import type { DeploymentRef } from './records.js';
import { readServerError, serverRejected, type FetchFn, type ServerApi } from './server-api.js';
import type { CreditStore } from './store.js';
import type { TreeSync } from './tree-sync.js';
import type { PaidChatRequest } from './paid-chat.js';

export type TicketChatContext = {
  api: ServerApi;
  /** Carries the paid request. */
  fetchFn: FetchFn;
  store: CreditStore;
  deployment: DeploymentRef;
  tree: TreeSync;
  spender: TicketSpender;
  /** Whether the server takes v2 flat tickets of this deployment (checked once; throws `vk_mismatch` for another ticket circuit). */
  v2Ready(signal?: AbortSignal): Promise<boolean>;
  now(): number;
  maxAttempts: number;
};

/** Refusals after which the same request may be sent again with the same ticket (nothing final was said about it). */
const KEEP_IN_FLIGHT = new Set(['unknown_root', 'expired_root', 'ticket_in_use', 'invalid_today', 'credit_cooling_down']);
/** Refusals retried here at once: the root moved on (sync, prove the same ticket again). */
const REPROVE = new Set(['unknown_root', 'expired_root']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Sends `request` paid by a ticket. Resolves with the server's 200 response, or with `undefined`
 * when no account can pay it (none open with tickets left, or the server takes no v2 tickets):
 * the caller then pays with a v1 credit. Rejects with a `ClientError` otherwise.
 */
export async function sendTicketChat(ctx: TicketChatContext, request: PaidChatRequest): Promise<Response | undefined> {
  const { signal } = request;
  if (!(await ctx.v2Ready(signal))) return undefined;
  const ticketRequest = { method: 'POST', path: CHAT_PATH, headers: request.headers ?? {}, body: request.body };
  const digest = hex(requestDigest(ticketRequest));
  let reprove = false;
  let lastRefusal: ClientError | undefined;
  for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
    if (signal?.aborted) throw new ClientError('aborted', 'Stopped before sending. No ticket was used.');
    await ctx.tree.sync(signal);
    while (ctx.tree.midSync) await ctx.tree.sync(signal);
    // One synchronous snapshot: the witness, and the size and root checked on chain, agree.
    const tree = ctx.tree.tree;
    const today = utcDay(ctx.now());
    const account = await pickAccount(ctx, tree, today, digest);
    if (!account) {
      if (attempt === 0) return undefined;
      break;
    }
    await ctx.tree.verify({ size: tree.size, root: tree.root });
    let spend: TicketSpend;
    try {
      spend = await ctx.spender.spend({ account, tree, request: ticketRequest, today, reprove });
    } catch (cause) {
      if (isZkCreditsError(cause) && (cause.name === 'AccountError' || cause.name === 'ClientError')) throw cause;
      throw new ClientError('prover_failed', 'This device could not make the ticket proof. The ticket was not sent; try again.', { details: briefly(cause), cause });
    }
    reprove = false;
    if (signal?.aborted) {
      ctx.spender.release(spend);
      throw new ClientError('aborted', 'Stopped before sending. The ticket is kept for this same request.');
    }
    let res: Response;
    try {
      res = await ctx.fetchFn(`${ctx.api.origin}${CHAT_PATH}`, {
        method: 'POST',
        headers: { ...request.headers, 'content-type': 'application/json', accept: request.accept ?? 'application/json' },
        body: JSON.stringify({ ...request.body, zkcredits: spend.payload }),
        ...(signal ? { signal } : {}),
      });
    } catch (cause) {
      ctx.spender.release(spend);
      if (signal?.aborted) throw new ClientError('aborted', 'Stopped. The ticket is kept for a retry of this same request.', { cause });
      throw new ClientError('server_unavailable', 'The zkcredits server could not be reached. The ticket is kept for a retry of this same request.', { details: briefly(cause), cause });
    }
    if (res.ok) {
      await settle(ctx, spend, 'served');
      return res;
    }
    const refusal = await readServerError(res);
    const options = { serverCode: refusal.code, status: refusal.status, ...(refusal.retryAfter ? { retryAfter: refusal.retryAfter } : {}), details: `HTTP ${refusal.status} ${refusal.code}` };
    switch (refusal.code) {
      case 'ticket_reused':
        await settle(ctx, spend, 'served');
        throw new ClientError('ticket_reused', 'The server already answered this request with this ticket, and answers are not kept: the answer is lost. Send the request again to pay it with the next ticket.', options);
      case 'account_revoked':
        await settle(ctx, spend, 'burned');
        await ctx.store.updateAccount(account.id, { status: 'revoked' }).catch(() => undefined);
        throw new ClientError('account_revoked', 'The server refuses this account: one of its tickets was used for two different requests. It is marked revoked here; open a new account.', options);
      case 'ticket_in_use':
        ctx.spender.release(spend);
        throw new ClientError('ticket_in_use', 'An earlier attempt of this request still holds its ticket at the server. Retry the same request shortly.', options);
      case 'invalid_today':
        ctx.spender.release(spend);
        throw new ClientError('invalid_today', "The server does not accept this device's date. Check the clock; the ticket is kept for this same request.", options);
    }
    lastRefusal = serverRejected(refusal, 'The zkcredits server refused the paid request');
    if (KEEP_IN_FLIGHT.has(refusal.code) || refusal.status >= 500) {
      ctx.spender.release(spend);
      if (!REPROVE.has(refusal.code)) throw lastRefusal;
      reprove = true;
      await sleep(Math.min(2000, 200 * (attempt + 1)));
      continue;
    }
    // A final refusal of this request: its ticket is never sent again, with any body.
    await settle(ctx, spend, 'burned');
    throw lastRefusal;
  }
  throw new ClientError('retries_exhausted', 'The zkcredits server kept refusing the ticket proofs. The ticket is kept for this same request; try again later.', {
    details: lastRefusal?.details,
    ...(lastRefusal?.serverCode ? { serverCode: lastRefusal.serverCode } : {}),
    cause: lastRefusal,
  });
}

async function settle(ctx: TicketChatContext, spend: TicketSpend, outcome: 'served' | 'burned'): Promise<void> {
  try {
    await ctx.spender.settle(spend, outcome);
  } catch (cause) {
    throw new ClientError('store_failed', 'The ticket was settled but the store could not record it.', { details: briefly(cause), cause });
  }
}

/** Whether `account` belongs to the deployment. */
export function accountOf(account: AccountRecord, deployment: DeploymentRef): boolean {
  return account.chainId === deployment.chainId && account.contract.toLowerCase() === deployment.contract.toLowerCase();
}

/** Tickets that can still be taken from `account` today (0 unless open and unexpired). */
export function callsLeft(account: AccountRecord, today: number): number {
  if (account.status !== 'open' || account.expiryDay === undefined || today > account.expiryDay) return 0;
  return account.tickets - account.nextTicket;
}

/**
 * The account to pay with: the one holding this request's in-flight ticket (a retry), else the
 * open account with tickets left whose leaf is in the tree and which expires first. Accounts from
 * a backup that were not recovered yet (`recoveryNeeded`) never pay: their counters may be behind.
 */
async function pickAccount(ctx: TicketChatContext, tree: MerkleTree, today: number, digest: string): Promise<AccountRecord | undefined> {
  const accounts = (await ctx.store.listAccounts()).filter(
    (a) => accountOf(a, ctx.deployment) && a.status === 'open' && !a.recoveryNeeded && a.expiryDay !== undefined && today <= a.expiryDay && tree.indexOf(flatAccountLeaf(BigInt(a.accountId), a.tickets, a.expiryDay)) >= 0,
  );
  const held = new Set(ctx.spender.inFlight().filter((f) => f.digest === digest).map((f) => f.account));
  return (
    accounts.find((a) => held.has(a.id)) ??
    accounts.filter((a) => callsLeft(a, today) > 0).sort((a, b) => a.expiryDay! - b.expiryDay! || a.createdAt - b.createdAt || a.index - b.index)[0]
  );
}
