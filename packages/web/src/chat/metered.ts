/**
 * One chat request paid by a metered account (PROTOCOL.md, "Protocol v2, step 2"): the call
 * pre-pays C_max on one of the account's lanes, and the server's signed state at the end of the
 * answer refunds what the call did not cost.
 *
 * - One writer per account: the call is made, sent and settled holding the account's Web Lock
 *   (src/vault/locks.ts). A tab finding every metered account in use pays another way when it can,
 *   else waits.
 * - In the prover worker, core's `MeteredSpender` picks a lane that can pay C_max (asking the server
 *   for the state of a pending lane first: `GET /v2/zkcredits/state/{nullifier}`, that call only),
 *   proves with a fresh commitment and journals the call in the vault before the payload leaves it.
 * - The answer's `zkcredits.state` event (or an error body's `zkcredits` member) is checked under
 *   the on-chain state key and becomes the lane's state; it is never shown, and nothing of it is
 *   ever sent again (the refund, signature and commitment are private inputs of the next proof).
 * - A call whose state did not come back (no answer, a broken stream, a stop) leaves its lane
 *   pending: its state is asked for right away, and again before the lane is used.
 * - Nothing is sent that the server would refuse before it takes the call (another deployment or
 *   C_max, another state key, an input that alone could cost C_max): a lane whose call the server
 *   never took can only carry that same request again.
 */
import { CHAT_PATH, utcDay, type MeteredAccountRecord } from '@zkcredits/core';
import type { Address } from 'viem';
import { getTicketConfig, ServerError, streamChat, type ServerMeteredConfig } from '../api/client';
import { AppError, isAppError } from '../errors';
import { meteredContext, meteredParams, stateKeys } from '../metered/deployment';
import type { MeteredParams } from '../metered/money';
import { meteredNeedsRecovery, usableMetered } from '../metered/usable';
import { notifyMeteredChange } from '../metered/events';
import type { MeteredCallInfo, MeteredContext, MeteredSettled, TicketRequest } from '../prover/types';
import { hasWebLocks, tryAccountLock, withAccountLock, withVaultLock } from '../vault/locks';
import type { PaidChatParameters, PaidChatResult } from './spend';
import { sleep } from './sleep';
import { ACCOUNT_REVOKED_MESSAGE } from './ticket';
import { checkServerDeployment, syncVerifiedTree } from './tree';

/** Attempts of one request (a new root, an identical re-send at the same lane position). */
const MAX_ATTEMPTS = 5;
/** Questions for a state the server has not signed yet, right after a call (each waits its Retry-After). */
const STATE_QUESTIONS = 8;
const RETRY_AFTER_MAX_MS = 5_000;

/** What one account made of the request: paid, or not usable now. */
type Outcome = PaidChatResult | { next: AppError } | 'not_in_tree';

/** Server configs checked against the chain, per deployment (asked once per tab, until a refusal says otherwise). */
const meteredServers = new Map<string, Promise<ServerMeteredConfig | undefined>>();

/**
 * The server's metered terms when they are the chain's: the same deployment, C_max and price unit,
 * and the on-chain state key as its signing key. Anything else would be refused before the call is
 * taken (stranding a lane), so nothing is sent to it.
 */
async function serverTakesMetered(p: PaidChatParameters, params: MeteredParams): Promise<ServerMeteredConfig | undefined> {
  const key = `${p.chainId}:${p.pool.toLowerCase()}`;
  let known = meteredServers.get(key);
  if (!known) {
    known = (async () => {
      const [c, keys] = await Promise.all([getTicketConfig(p.signal), stateKeys(p.publicClient, p.pool, p.chainId)]);
      const m = c?.metered;
      if (!c || !m || c.chainId !== p.chainId || c.contract.toLowerCase() !== p.pool.toLowerCase()) return undefined;
      if (m.cMax !== params.cMax || m.priceUnit !== params.priceUnit) return undefined;
      if (!m.stateKey || BigInt(m.stateKey.x) !== keys.current.x || BigInt(m.stateKey.y) !== keys.current.y) return undefined;
      return m;
    })();
    meteredServers.set(key, known);
    known.catch(() => meteredServers.delete(key));
  }
  return known;
}

function forgetServer(chainId: number, pool: Address): void {
  meteredServers.delete(`${chainId}:${pool.toLowerCase()}`);
}

/**
 * Whether the input alone could cost C_max at the model's published input price (the server's
 * `input_tokens_exceeded`, which it says before taking the call). The UTF-8 bytes of the messages'
 * JSON bound the server's input estimate from above (one token per byte, four per message).
 */
function inputTooLong(body: Record<string, unknown>, price: { input: number; output: number }, cMax: number): boolean {
  const bytes = new TextEncoder().encode(JSON.stringify(body.messages ?? [])).length;
  const inputCost = (BigInt(bytes) * BigInt(price.input) + 999_999n) / 1_000_000n;
  const left = BigInt(cMax) - inputCost;
  return left <= 0n || (left * 1_000_000n) / BigInt(Math.max(1, price.output)) < 1n;
}

/**
 * Pays `p`'s request with a metered account of this deployment. Resolves `undefined` when no
 * metered account can pay it and `otherwise` (a ticket or a credit) can, or when there is no
 * metered account at all. Accounts are never used without Web Locks, while they wait for recovery,
 * or with a server whose metered terms are not the chain's.
 */
export async function sendMeteredChat(p: PaidChatParameters, opts: { otherwise: boolean }): Promise<PaidChatResult | undefined> {
  const today = utcDay(Date.now());
  const all = p.vault.meteredAccounts();
  if (!all.some((a) => a.chainId === p.chainId && a.contract.toLowerCase() === p.pool.toLowerCase())) return undefined;
  const refuse = (error: AppError): undefined => {
    if (opts.otherwise) return undefined;
    throw error;
  };
  const params = await meteredParams(p.publicClient, p.pool, p.chainId);
  const candidates = usableMetered(all, p.chainId, p.pool, params, today);
  if (candidates.length === 0) {
    if (meteredNeedsRecovery(all, p.chainId, p.pool)) {
      return refuse(new AppError('accounts_recovering', 'Your accounts are being checked for calls they already made (a backup was restored or imported). Try again in a moment.'));
    }
    return undefined;
  }
  if (!hasWebLocks()) {
    return refuse(new AppError('no_web_locks', 'This browser cannot make sure only one tab uses an account (it lacks Web Locks), so your accounts are not used here. Use a current browser, over https.'));
  }
  p.onStage('syncing');
  await checkServerDeployment(p.chainId, p.pool, p.signal);
  const server = await serverTakesMetered(p, params);
  if (!server) {
    return refuse(new AppError('server_rejected', 'The zkcredits server behind this app does not take calls of metered accounts on these terms (C_max or state key). Nothing was sent.'));
  }
  const price = server.prices[String(p.body.model)];
  if (!price) {
    return refuse(new AppError('server_rejected', 'The server publishes no metered price for this model, so your metered account cannot pay for it. Nothing was sent.'));
  }
  if (inputTooLong(p.body, price, params.cMax)) {
    return refuse(
      new AppError('input_tokens_exceeded', 'This conversation is too long for one metered call: its input alone could cost the most a call pre-pays. Start a new chat. Nothing was sent.'),
    );
  }
  const request: TicketRequest = { method: 'POST', path: CHAT_PATH, ...(p.e2ee ? { headers: p.e2ee.headers } : {}), body: p.body };
  const ctx = meteredContext(p.vault, p.publicClient, p.pool, p.chainId);

  try {
    return await withVaultLock(
      'shared',
      async () => {
        let notInTree = false;
        let last: AppError | undefined;
        const busy: MeteredAccountRecord[] = [];
        const paid = (outcome: Outcome): PaidChatResult | undefined => {
          if (outcome === 'not_in_tree') notInTree = true;
          else if ('next' in outcome) last = outcome.next;
          else return outcome;
          return undefined;
        };
        for (const account of candidates) {
          const tried = await tryAccountLock(account.accountId, () => payWithMetered(p, account, request, today, ctx));
          const result = tried.held ? paid(tried.value) : (busy.push(account), undefined);
          if (result) return result;
        }
        if (!opts.otherwise) {
          for (const account of busy) {
            p.onStage('locked');
            const result = paid(await withAccountLock(account.accountId, () => payWithMetered(p, account, request, today, ctx), p.signal));
            if (result) return result;
          }
          if (notInTree) throw new AppError('account_not_in_tree', 'The server has not seen your account’s opening yet. Try again in a few seconds.');
          if (last) throw last;
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

/** Codes of `meteredSpend` that mean "this account cannot take the call now" (another may). */
const NEXT_CODES = new Set(['account_not_open', 'account_expired', 'recovery_needed', 'insufficient_balance', 'lane_frozen', 'no_usable_lane', 'state_pending', 'lane_stale', 'lane_busy']);

/** Makes `state` (unchecked) the call's lane state; its refusal (another key, another call) as an error. */
async function settle(p: PaidChatParameters, ctx: MeteredContext, call: MeteredCallInfo, state: unknown): Promise<MeteredSettled> {
  const settled = await p.prover.meteredSettle(call.nullifier, state, ctx);
  notifyMeteredChange();
  if (settled.ok) return settled.value;
  const { code, message, details } = settled.error;
  throw new AppError(code, `${message} The lane waits for a valid state before it is used again.`, { details });
}

/**
 * The call's state did not come with the answer: its lane stays pending, and the server is asked
 * for it now (`GET /v2/zkcredits/state/{nullifier}`, waiting while it is not signed yet, a few
 * times). Returns the committed call's cost when it came back.
 */
async function recoverCall(p: PaidChatParameters, ctx: MeteredContext, call: MeteredCallInfo, signal?: AbortSignal): Promise<number | undefined> {
  await p.prover.meteredRelease(call.nullifier);
  const never = new AbortController().signal;
  for (let i = 0; i < STATE_QUESTIONS; i++) {
    const rec = await p.prover.meteredRecover(call.account, ctx);
    if (!rec.ok) return undefined;
    const lane = rec.value.find((r) => r.lane === call.lane);
    if (!lane || lane.outcome === 'committed') {
      notifyMeteredChange();
      const record = await p.vault.meteredAccount(call.account).catch(() => undefined);
      const state = record?.lanes[call.lane]?.state;
      return state?.kind === 'signed' ? call.cMax - state.r : undefined;
    }
    if (lane.outcome !== 'pending') return undefined;
    await sleep(Math.min(RETRY_AFTER_MAX_MS, (lane.retryAfter ?? 1) * 1000), signal ?? never);
  }
  return undefined;
}

/** One request on one metered account, holding its Web Lock. */
async function payWithMetered(
  p: PaidChatParameters,
  account: MeteredAccountRecord,
  request: TicketRequest,
  today: number,
  ctx: MeteredContext,
): Promise<Outcome> {
  let verifiedRoot = (await syncVerifiedTree(p)).root;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const result = await p.prover.meteredSpend({ account, request, today }, ctx, (e) => p.onStage(e.stage, { elapsedMs: e.elapsedMs }));
    if (!result.ok) {
      const { code, message, details } = result.error;
      if (code === 'account_not_in_tree') return 'not_in_tree';
      if (NEXT_CODES.has(code)) return { next: new AppError(code, message, { details }) };
      throw new AppError(code, message, { details });
    }
    const { call, loadMs, proveMs } = result.value;
    notifyMeteredChange();
    if (BigInt(call.payload.root) !== BigInt(verifiedRoot)) {
      // The mirror moved between the check and the proof: nothing was sent; the lane keeps this
      // request, which is proven again (same position) once the tree checks out.
      await p.prover.meteredRelease(call.nullifier);
      verifiedRoot = (await syncVerifiedTree(p)).root;
      continue;
    }
    if (p.signal.aborted) {
      await p.prover.meteredRelease(call.nullifier);
      throw new AppError('aborted', 'Stopped before sending.');
    }
    p.onStage('waiting', { elapsedMs: proveMs });
    let accepted = false;
    const paid = (cost: number | undefined, finishReason?: string): PaidChatResult => ({
      proofMs: proveMs,
      loadMs,
      credit: account.id,
      metered: { lane: call.lane, ...(cost !== undefined ? { cost } : {}) },
      ...(finishReason ? { finishReason } : {}),
    });
    try {
      const answer = await streamChat(
        { ...p.body, zkcredits: call.payload },
        {
          onOpen() {
            accepted = true;
            p.onStage('streaming');
          },
          onDelta: p.onDelta,
        },
        p.signal,
        p.e2ee,
      );
      if (answer.state !== undefined) return paid((await settle(p, ctx, call, answer.state)).cost, answer.finishReason);
      return paid(await recoverCall(p, ctx, call), answer.finishReason);
    } catch (error) {
      if (isAppError(error, 'state_signature_invalid') || isAppError(error, 'state_mismatch')) throw error;
      const state = error instanceof ServerError ? error.state : undefined;
      if (accepted) {
        // The answer began: the server signs its state at the end (its cost, or C_max if the stream broke).
        if (state !== undefined) await settle(p, ctx, call, state);
        else if (p.signal.aborted) void recoverInBackground(p, ctx, call, account.accountId);
        else await recoverCall(p, ctx, call);
        if (p.signal.aborted) throw new AppError('aborted', 'Stopped.');
        if (isAppError(error, 'e2ee_failed')) throw new AppError('e2ee_failed', `${error.shortMessage} The call was charged what the server counted.`, { details: error.details, cause: error });
        throw new AppError('upstream_failed', 'The answer broke off after it had started; the call was charged what the server counted (at most C_max). Send the message again to retry.', {
          details: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined,
          cause: error,
        });
      }
      if (!(error instanceof ServerError)) {
        // No answer (stopped, or the server was not reached): the lane waits for its state, asked for now and before its next use.
        void recoverInBackground(p, ctx, call, account.accountId);
        throw error;
      }
      if (state !== undefined) {
        // The server took the call and signed its end (a policy refusal, an upstream failure, a repeated request).
        const settled = await settle(p, ctx, call, state);
        throw endedError(error, settled);
      }
      switch (error.serverCode) {
        case 'unknown_root':
        case 'expired_root':
          // Refused before the call was taken: the same request is proven again at the same lane position.
          await p.prover.meteredRelease(call.nullifier);
          verifiedRoot = (await syncVerifiedTree(p)).root;
          continue;
        case 'state_pending':
        case 'ticket_reused':
          // This very request was taken before (an earlier attempt): its state is asked for; its answer is gone.
          await recoverCall(p, ctx, call, p.signal);
          throw new AppError('ticket_reused', 'The server had already taken this exact message on this lane, and answers are not kept, so that answer is lost. Send the message again: it uses the lane’s next call.', {
            details: error.details,
          });
        case 'account_revoked':
          await p.prover.meteredRelease(call.nullifier);
          await p.vault.updateMeteredAccount(account.id, { status: 'revoked' }).catch(() => undefined);
          notifyMeteredChange();
          throw new AppError('account_revoked', ACCOUNT_REVOKED_MESSAGE, { details: error.details });
        case 'state_key_mismatch':
        case 'metered_unavailable':
          forgetServer(p.chainId, p.pool);
          break;
        case 'invalid_today':
          await p.prover.meteredRelease(call.nullifier);
          throw new AppError('invalid_today', 'The server does not accept this device’s date, so the message was not answered. Check the clock (date, time and time zone), then send it again.', {
            details: error.details,
          });
      }
      // No state: whether the server took the call is asked now, and before the lane's next use.
      void recoverInBackground(p, ctx, call, account.accountId);
      if (error.status >= 500 || error.status === 429) {
        throw new AppError(error.code, 'The message was not answered: the server or the model provider failed. Send it again to retry.', { details: error.details, cause: error });
      }
      throw error;
    }
  }
  throw new AppError('server_rejected', 'The server kept refusing this call. Try again later.');
}

/** An error answer that ended a call with a signed state, in words (what it cost, any penalty). */
function endedError(error: ServerError, settled: MeteredSettled): AppError {
  if (error.serverCode === 'policy_violation') {
    return new AppError(
      'policy_violation',
      `The server refused this message under its published policy${settled.reason ? ` (${settled.reason.replace(/_/g, ' ')})` : ''}. It cost nothing, but a penalty was added to the lane: once a lane’s penalties reach its stake, it is frozen.`,
      { details: error.details, cause: error },
    );
  }
  if (error.serverCode === 'ticket_reused') {
    return new AppError('ticket_reused', 'The server had already answered this exact message on this lane, and answers are not kept, so that answer is lost. Send the message again: it uses the lane’s next call.', {
      details: error.details,
    });
  }
  const charged = settled.cost === 0 ? 'Nothing was charged for it.' : 'It was charged what the server counted.';
  if (error.status >= 500 || error.status === 429) {
    return new AppError(error.code, `The message was not answered: the server or the model provider failed. ${charged} Send it again to retry.`, { details: error.details, cause: error });
  }
  return new AppError(error.code, `${error.shortMessage} ${charged}`, { details: error.details, cause: error });
}

/**
 * Asks for a call's state after this request has ended without one (stopped, no answer), holding
 * the account's Web Lock again; the vault screen updates when it comes back.
 */
async function recoverInBackground(p: PaidChatParameters, ctx: MeteredContext, call: MeteredCallInfo, accountId: string): Promise<void> {
  await p.prover.meteredRelease(call.nullifier);
  // After this request's lock is released (this runs on), one writer again.
  await Promise.resolve();
  try {
    await withVaultLock('shared', () => withAccountLock(accountId, () => recoverCall(p, ctx, call)));
  } catch {
    // Asked again before the lane's next use.
  }
}
