/**
 * One chat request paid by a metered account (protocol v2, step 2): sync the tree, pick an open
 * metered account with a lane that can pay C_max, check the tree against the chain, take a lane
 * through core's `MeteredSpender` (proved from the lane's state, journaled before anything is
 * sent), send, and settle the lane with the server's signed state from the answer (the `zkcredits`
 * member or the `zkcredits.state` event, both stripped before the caller sees the answer) or from
 * the error body.
 *
 * A metered call is never released: once the server has reserved it, it signs exactly one state.
 * When no state arrives (no answer, a broken stream, a crash) the lane stays pending and its state
 * is asked for (`GET /v2/zkcredits/state/{nullifier}`, that call only) before the lane's next use.
 * A lane position, once its proof left this process, is only ever sent again for the same request.
 */
import {
  CHAT_PATH,
  isZkCreditsError,
  meteredAccountLeaf,
  requestHash,
  utcDay,
  type MeteredAccountRecord,
  type MeteredCall,
  type MeteredSpender,
  type MerkleTree,
} from '@zkcredits/core';
import { laneStandings } from '@zkcredits/core/vault';
import { ClientError, briefly } from './errors.js';
import { meteredJsonAnswer, meteredStreamAnswer, splitJsonState, type StateSink } from './metered-answer.js';
import type { PaidChatRequest } from './paid-chat.js';
import type { DeploymentRef } from './records.js';
import { serverRejected, type FetchFn, type MeteredConfig, type ServerApi, type ServerErrorBody } from './server-api.js';
import type { CreditStore } from './store.js';
import type { TreeSync } from './tree-sync.js';

export type MeteredChatContext = {
  api: ServerApi;
  /** Carries the paid request. */
  fetchFn: FetchFn;
  store: CreditStore;
  deployment: DeploymentRef;
  tree: TreeSync;
  spender: MeteredSpender;
  /** The server's metered offer when it takes metered calls of this deployment under the on-chain key and C_max; else undefined. */
  meteredReady(signal?: AbortSignal): Promise<MeteredConfig | undefined>;
  /** Whether the request is end-to-end encrypted (its input size is then read from the plaintext bound the server uses). */
  now(): number;
  maxAttempts: number;
};

/** Refusals that come before the server reserves the call: nothing is signed, the lane stays pending for this same request. */
const BEFORE_RESERVATION_RETRY = new Set(['unknown_root', 'expired_root']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Bytes of the request a provider's tokenizer could read (a bound of its input tokens: a token is at least one byte). */
function inputBound(body: Record<string, unknown>): number {
  const { messages, tools, tool_choice, response_format } = body;
  return new TextEncoder().encode(JSON.stringify({ messages, tools, tool_choice, response_format })).length;
}

/**
 * Whether the request fits one metered call: the model has a published price, and its input alone
 * (bounded by its bytes) leaves room for at least one output token within C_max. Otherwise the
 * server would refuse it before reserving, and the lane position would stay bound to it.
 */
export function fitsMetered(config: MeteredConfig, body: Record<string, unknown>): boolean {
  const model = typeof body.model === 'string' ? config.prices[body.model] : undefined;
  if (!model) return false;
  const inputCost = (BigInt(inputBound(body)) * BigInt(model.input) + 999_999n) / 1_000_000n;
  return (BigInt(config.cMax) - inputCost) * 1_000_000n >= BigInt(model.output);
}

/** Whether `account` belongs to the deployment. */
function ofDeployment(account: MeteredAccountRecord, deployment: DeploymentRef): boolean {
  return account.chainId === deployment.chainId && account.contract.toLowerCase() === deployment.contract.toLowerCase();
}

/** Whether some lane of an open account can pay C_max (counting a pending call's worst case). */
export function canPayMetered(account: MeteredAccountRecord, cMax: number, today: number): boolean {
  if (account.status !== 'open' || account.recoveryNeeded || account.expiryDay === undefined || today > account.expiryDay) return false;
  return laneStandings(account).some((l) => !l.stale && !l.frozen && l.balance >= cMax);
}

/**
 * Sends `request` paid by a metered account. Resolves with the answer (the state taken out), or with
 * `undefined` when no metered account can pay it (or the server takes no metered calls): the caller
 * then pays another way. Rejects with a `ClientError` otherwise.
 */
export async function sendMeteredChat(ctx: MeteredChatContext, request: PaidChatRequest): Promise<Response | undefined> {
  const { signal } = request;
  const config = await ctx.meteredReady(signal);
  if (!config || !fitsMetered(config, request.body)) return undefined;
  const x = requestHash({ ...ctx.deployment, method: 'POST', path: CHAT_PATH, headers: request.headers ?? {}, body: request.body });
  let lastRefusal: ClientError | undefined;
  for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
    if (signal?.aborted) throw new ClientError('aborted', 'Stopped before sending. Nothing was paid.');
    await ctx.tree.sync(signal);
    while (ctx.tree.midSync) await ctx.tree.sync(signal);
    // One synchronous snapshot: the witness, and the size and root checked on chain, agree.
    const tree = ctx.tree.tree;
    const today = utcDay(ctx.now());
    const account = await pickAccount(ctx, tree, today, config.cMax, x);
    if (!account) {
      if (attempt === 0) return undefined;
      break;
    }
    await ctx.tree.verify({ size: tree.size, root: tree.root });
    let call: MeteredCall;
    try {
      call = await ctx.spender.spend({ account, tree, x, today, ...(signal ? { signal } : {}) });
    } catch (cause) {
      if (signal?.aborted) throw new ClientError('aborted', 'Stopped before sending. Nothing was paid.', { cause });
      // No lane can take it now (spent, frozen, or waiting for a state): pay another way.
      if (attempt === 0 && isZkCreditsError(cause) && cause.name === 'MeteredError') return undefined;
      if (isZkCreditsError(cause) && (cause.name === 'MeteredError' || cause.name === 'ClientError' || cause.name === 'VaultError')) throw cause;
      throw new ClientError('prover_failed', 'This device could not make the metered proof. Nothing was sent; try again.', { details: briefly(cause), cause });
    }
    const sink: StateSink = {
      settle: async (wire) => {
        try {
          await ctx.spender.settle(call, wire);
        } catch (cause) {
          throw new ClientError('state_refused', "The server's signed state for this call was refused; the lane keeps waiting for a valid one.", { details: briefly(cause), cause });
        }
      },
      release: () => ctx.spender.release(call),
    };
    let res: Response;
    try {
      res = await ctx.fetchFn(`${ctx.api.origin}${CHAT_PATH}`, {
        method: 'POST',
        headers: { ...request.headers, 'content-type': 'application/json', accept: request.accept ?? 'application/json' },
        body: JSON.stringify({ ...request.body, zkcredits: call.payload }),
        ...(signal ? { signal } : {}),
      });
    } catch (cause) {
      // The server may have reserved it: the lane stays pending, its state is asked for before its next use.
      sink.release();
      if (signal?.aborted) throw new ClientError('aborted', 'Stopped. If the server took the call, its state is fetched before the lane is used again.', { cause });
      throw new ClientError('server_unavailable', 'The zkcredits server could not be reached. If it took the call, its state is fetched before the lane is used again.', {
        details: briefly(cause),
        cause,
      });
    }
    if (res.ok) {
      return (res.headers.get('content-type') ?? '').includes('text/event-stream') ? meteredStreamAnswer(res, sink) : meteredJsonAnswer(res, sink);
    }
    const { refusal, state } = await readMeteredError(res);
    if (state !== undefined) await sink.settle(state);
    else sink.release();
    const options = { serverCode: refusal.code, status: refusal.status, ...(refusal.retryAfter ? { retryAfter: refusal.retryAfter } : {}), details: `HTTP ${refusal.status} ${refusal.code}` };
    switch (refusal.code) {
      case 'ticket_reused':
        throw new ClientError('ticket_reused', 'The server already answered this call, and answers are not kept: the answer is lost. Its refund was settled; send the request again.', options);
      case 'state_pending':
        throw new ClientError('server_rejected', 'The server is still finishing this call; its state is fetched before the lane is used again.', options);
      case 'account_revoked':
        await ctx.store.updateMeteredAccount(account.id, { status: 'revoked' }).catch(() => undefined);
        throw new ClientError('account_revoked', 'The server refuses this account: one of its lane positions was used for two different requests. It is marked revoked here.', options);
      case 'invalid_today':
        throw new ClientError('invalid_today', "The server does not accept this device's date. Check the clock; this lane waits for this same request.", options);
    }
    lastRefusal = serverRejected(refusal, 'The zkcredits server refused the metered call');
    if (state === undefined && BEFORE_RESERVATION_RETRY.has(refusal.code)) {
      // A root the server does not take: sync again and prove the same position for the same request.
      await sleep(Math.min(2000, 200 * (attempt + 1)));
      continue;
    }
    throw lastRefusal;
  }
  throw new ClientError('retries_exhausted', 'The zkcredits server kept refusing the metered proofs. Try again later.', {
    details: lastRefusal?.details,
    ...(lastRefusal?.serverCode ? { serverCode: lastRefusal.serverCode } : {}),
    cause: lastRefusal,
  });
}

/** An error answer and the signed state its body carries (`zkcredits`), if any. */
async function readMeteredError(res: Response): Promise<{ refusal: ServerErrorBody; state: unknown }> {
  const text = await res.text().catch(() => '');
  const { state, body } = splitJsonState(text);
  const retry = Number(res.headers.get('retry-after'));
  let refusal: ServerErrorBody = { status: res.status, code: `http_${res.status}`, message: `The zkcredits server answered HTTP ${res.status}.`, ...(retry > 0 ? { retryAfter: retry } : {}) };
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown; type?: unknown; param?: unknown } }).error;
    if (e && typeof e.message === 'string') {
      refusal = {
        ...refusal,
        code: typeof e.code === 'string' ? e.code : refusal.code,
        message: e.message,
        ...(typeof e.type === 'string' ? { type: e.type } : {}),
        ...(typeof e.param === 'string' ? { param: e.param } : {}),
      };
    }
  } catch {
    // not JSON: the generic message
  }
  return { refusal, state };
}

/**
 * The account to pay with: one holding a pending call for this same request (its position is bound
 * to it), else the open metered account with a lane that can pay C_max, whose leaf is in the tree,
 * expiring first. Accounts not recovered from a backup never pay.
 */
async function pickAccount(ctx: MeteredChatContext, tree: MerkleTree, today: number, cMax: number, x: bigint): Promise<MeteredAccountRecord | undefined> {
  const accounts = (await ctx.store.listMeteredAccounts()).filter(
    (a) =>
      ofDeployment(a, ctx.deployment) &&
      a.status === 'open' &&
      !a.recoveryNeeded &&
      a.expiryDay !== undefined &&
      today <= a.expiryDay &&
      tree.indexOf(meteredAccountLeaf(BigInt(a.accountId), { dLane: a.dLane, lanesLog2: a.lanesLog2, sLane: a.sLane, expiryDay: a.expiryDay })) >= 0,
  );
  const own = accounts.find((a) => a.lanes.some((l) => l.pending && BigInt(l.pending.x) === x));
  return own ?? accounts.filter((a) => canPayMetered(a, cMax, today)).sort((a, b) => a.expiryDay! - b.expiryDay! || a.createdAt - b.createdAt || a.index - b.index)[0];
}
