/**
 * One chat request paid by one ticket of a v2 account (PROTOCOL.md, "The retry rule").
 *
 * One writer per account: the ticket is taken, sent and settled holding the account's Web Lock
 * (src/vault/locks.ts). A tab finding every account in use pays with a v1 credit when it has one,
 * else waits; it never gets a ticket another tab holds. In the prover worker, core's
 * `TicketSpender` journals the ticket for this request's digest before proving it and keeps the
 * proved payload in memory only, so:
 * - a retry sends the same bytes (`ticket_in_use`), or the same ticket proven again for a new
 *   root (same nullifier, same share): never another message with this ticket;
 * - an answer (even one that breaks off) or `ticket_reused` settles it as used; a final refusal
 *   burns it; no known outcome (no answer, a 5xx) leaves it with this request in this tab;
 * - a tab that closes mid-send leaves the journal entry, and the next unlock burns the ticket.
 * Nothing about the body is kept for retries beyond this call's memory (the journal holds only
 * the digest), end-to-end encrypted or not.
 */
import { CHAT_PATH, TICKET_VK_SHA256, utcDay, type TicketOutcome, type TicketSpend } from '@zkcredits/core';
import type { Address } from 'viem';
import { getTicketConfig, ServerError, streamChat } from '../api/client';
import { callsLeft, needsRecovery, usableAccounts } from '../accounts/usable';
import { AppError, isAppError } from '../errors';
import type { TicketJournal, TicketRequest } from '../prover/types';
import { wire } from '../prover/wire';
import { hasWebLocks, tryAccountLock, withAccountLock, withVaultLock } from '../vault/locks';
import type { AccountRecord, Vault } from '../vault';
import type { PaidChatParameters, PaidChatResult } from './spend';
import { sleep } from './sleep';
import { checkServerDeployment, syncVerifiedTree } from './tree';

/** Attempts of one request on one ticket (the same bytes, or the same ticket proven again). */
const MAX_ATTEMPTS = 5;
/** Longest wait for `ticket_in_use` before the identical request is sent again. */
const IN_USE_WAIT_MAX_MS = 10_000;

export const ACCOUNT_REVOKED_MESSAGE =
  'The server refuses this account: one of its tickets was used for two different messages, which publishes the account’s secret. ' +
  'Its remaining calls cannot be used, and its past calls may now be linked to each other and to the payment that opened it. ' +
  'This app never sends a ticket with another message, so the account was also used elsewhere (the same backup in another browser?). Open a new account.';

/** Deployments whose server takes flat tickets of this app's ticket circuit (asked once per tab). */
const ticketServers = new Map<string, boolean>();

async function serverTakesTickets(chainId: number, pool: Address, signal: AbortSignal): Promise<boolean> {
  const key = `${chainId}:${pool.toLowerCase()}`;
  const known = ticketServers.get(key);
  if (known !== undefined) return known;
  const c = await getTicketConfig(signal);
  const ok =
    !!c && c.flat && c.chainId === chainId && c.contract.toLowerCase() === pool.toLowerCase() && c.vkSha256.replace(/^0x/, '').toLowerCase() === TICKET_VK_SHA256.toLowerCase();
  ticketServers.set(key, ok);
  return ok;
}

/** The vault's ticket journal for the worker (its errors as values: they cross a Comlink boundary). */
function journalOf(vault: Vault): TicketJournal {
  return {
    takeTicket: (id, digest, today) => wire(() => vault.takeTicket(id, digest, today)),
    settleTicket: (id, ticket, outcome) => wire(() => vault.settleTicket(id, ticket, outcome)),
  };
}

/** What one account made of the request: paid, or not usable (used up or moved on by another tab, or not in the tree yet). */
type Outcome = PaidChatResult | 'next' | 'not_in_tree';

/**
 * Pays `p`'s request with a ticket of one of the vault's accounts of this deployment. Resolves
 * `undefined` when no account can pay it and a v1 credit can (`creditLeft`), or when there is no
 * usable account at all: the caller then pays with a credit. Accounts are never used without Web
 * Locks, while they wait for recovery (`recoveryNeeded`), or with a server that takes no tickets.
 */
export async function sendTicketChat(p: PaidChatParameters, opts: { creditLeft: boolean }): Promise<PaidChatResult | undefined> {
  const today = utcDay(Date.now());
  const accounts = p.vault.accounts();
  const candidates = usableAccounts(accounts, p.chainId, p.pool, today);
  const refuse = (error: AppError): undefined => {
    if (opts.creditLeft) return undefined;
    throw error;
  };
  if (candidates.length === 0) {
    if (!needsRecovery(accounts, p.chainId, p.pool)) return undefined;
    return refuse(new AppError('accounts_recovering', 'Your accounts are being checked for calls they already made (a backup was restored or imported). Try again in a moment.'));
  }
  if (!hasWebLocks()) {
    return refuse(new AppError('no_web_locks', 'This browser cannot make sure only one tab uses an account (it lacks Web Locks), so your accounts are not used here. Use a current browser, over https.'));
  }
  p.onStage('syncing');
  await checkServerDeployment(p.chainId, p.pool, p.signal);
  if (!(await serverTakesTickets(p.chainId, p.pool, p.signal))) {
    return refuse(new AppError('server_rejected', 'The zkcredits server behind this app does not take account calls yet. Buy single credits to chat.'));
  }
  const request: TicketRequest = { method: 'POST', path: CHAT_PATH, ...(p.e2ee ? { headers: p.e2ee.headers } : {}), body: p.body };
  // An account holding an in-flight ticket for exactly this request goes first: the same bytes again.
  const held = await p.prover.ticketHeld(request);
  const ordered = [...candidates.filter((a) => a.id === held), ...candidates.filter((a) => a.id !== held)];

  try {
    return await withVaultLock(
      'shared',
      async () => {
        let notInTree = false;
        const busy: AccountRecord[] = [];
        const paid = (outcome: Outcome): PaidChatResult | undefined => {
          if (outcome === 'not_in_tree') notInTree = true;
          return typeof outcome === 'object' ? outcome : undefined;
        };
        for (const account of ordered) {
          const tried = await tryAccountLock(account.accountId, () => payWithAccount(p, account, request, today));
          const result = tried.held ? paid(tried.value) : (busy.push(account), undefined);
          if (result) return result;
        }
        // Every account is in use by another tab (or cannot pay): a credit, else wait for a tab to finish.
        if (!opts.creditLeft) {
          for (const account of busy) {
            p.onStage('locked');
            const result = paid(await withAccountLock(account.accountId, () => payWithAccount(p, account, request, today), p.signal));
            if (result) return result;
          }
        }
        if (notInTree && !opts.creditLeft) {
          throw new AppError('account_not_in_tree', 'The server has not seen your account’s opening yet. Try again in a few seconds.');
        }
        return undefined;
      },
      p.signal,
    );
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw new AppError('aborted', 'Stopped before sending.');
    throw error;
  }
}

/** Settles a ticket in the journal; a storage failure leaves it journaled, so the next unlock burns it (never reused). */
async function settleTicket(p: PaidChatParameters, spend: TicketSpend, outcome: TicketOutcome): Promise<void> {
  await p.prover.ticketSettle(spend, outcome, journalOf(p.vault));
}

/** One request on one account, holding its Web Lock. */
async function payWithAccount(p: PaidChatParameters, account: AccountRecord, request: TicketRequest, today: number): Promise<Outcome> {
  // This tab's copy may be behind another tab's: the journal reads the stored account, so a used
  // up or revoked account shows up as `no_tickets` / `account_not_open` below.
  if (callsLeft(account, today) === 0) return 'next';
  const journal = journalOf(p.vault);
  let verifiedRoot = (await syncVerifiedTree(p)).root;
  let reprove = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const result = await p.prover.ticketSpend({ account, request, today, reprove }, journal, (e) => p.onStage(e.stage, { elapsedMs: e.elapsedMs }));
    if (!result.ok) {
      const { code, message, details } = result.error;
      if (code === 'account_not_in_tree') return 'not_in_tree';
      // Another tab moved the stored account on (used up, revoked), or it waits for recovery.
      if (code === 'no_tickets' || code === 'account_not_open' || code === 'account_expired' || code === 'recovery_needed') return 'next';
      throw new AppError(code, message, { details });
    }
    const { spend, loadMs, proveMs } = result.value;
    const identical = spend.retry && !reprove;
    if (!identical && BigInt(spend.payload.root) !== BigInt(verifiedRoot)) {
      // The mirror moved between the check and the proof: check it, prove this same ticket again.
      await p.prover.ticketRelease(spend);
      verifiedRoot = (await syncVerifiedTree(p)).root;
      reprove = true;
      continue;
    }
    reprove = false;
    if (p.signal.aborted) {
      await p.prover.ticketRelease(spend);
      throw new AppError('aborted', 'Stopped before sending.');
    }
    p.onStage('waiting', { elapsedMs: proveMs });
    let accepted = false;
    try {
      const answer = await streamChat(
        { ...p.body, zkcredits: spend.payload },
        {
          onOpen() {
            // The server counts the ticket used once it answers 200: so do we.
            accepted = true;
            p.onStage('streaming');
          },
          onDelta: p.onDelta,
        },
        p.signal,
        p.e2ee,
      );
      await settleTicket(p, spend, 'served');
      return { proofMs: proveMs, loadMs, credit: account.id, ticket: spend.ticket, finishReason: answer.finishReason };
    } catch (error) {
      if (accepted) {
        await settleTicket(p, spend, 'served');
        if (p.signal.aborted) throw new AppError('aborted', 'Stopped.');
        if (isAppError(error, 'e2ee_failed')) throw new AppError('e2ee_failed', `${error.shortMessage} Its call was used.`, { details: error.details, cause: error });
        throw new AppError('upstream_failed', 'The answer broke off after it had started; its call was used. Send the message again to retry.', {
          details: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined,
          cause: error,
        });
      }
      if (!(error instanceof ServerError)) {
        // No answer (stopped, or the server was not reached): the outcome is unknown, so the ticket stays with exactly this request.
        await p.prover.ticketRelease(spend);
        throw error;
      }
      switch (error.serverCode) {
        case 'ticket_in_use':
          // An earlier attempt of this request still holds the ticket at the server: the same bytes, later.
          await p.prover.ticketRelease(spend);
          await sleep(Math.min(IN_USE_WAIT_MAX_MS, (error.retryAfter ?? 1) * 1000), p.signal);
          continue;
        case 'unknown_root':
        case 'expired_root':
          await p.prover.ticketRelease(spend);
          verifiedRoot = (await syncVerifiedTree(p)).root;
          reprove = true;
          continue;
        case 'ticket_reused':
          await settleTicket(p, spend, 'served');
          throw new AppError('ticket_reused', 'The server had already answered this exact message with this call, and answers are not kept, so that answer is lost. Send the message again: it uses the next call.', {
            details: error.details,
          });
        case 'account_revoked':
          await settleTicket(p, spend, 'burned');
          await p.vault.updateAccount(account.id, { status: 'revoked' }).catch(() => undefined);
          throw new AppError('account_revoked', ACCOUNT_REVOKED_MESSAGE, { details: error.details });
        case 'invalid_today':
          await p.prover.ticketRelease(spend);
          throw new AppError('invalid_today', 'The server does not accept this device’s date, so the message was not answered. Check the clock (date, time and time zone), then send it again.', {
            details: error.details,
          });
      }
      if (error.status >= 500 || error.status === 429) {
        // Nothing final was said about the ticket: it stays with exactly this request.
        await p.prover.ticketRelease(spend);
        throw new AppError(error.code, 'The message was not answered: the server or the model provider failed. Send it again to retry.', { details: error.details, cause: error });
      }
      // A final refusal of this request: its ticket is never sent again, with any message.
      await settleTicket(p, spend, 'burned');
      throw error;
    }
  }
  throw new AppError('server_rejected', 'The server kept refusing this call. Try again later.');
}
