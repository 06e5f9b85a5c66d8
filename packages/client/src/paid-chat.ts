/**
 * One chat request paid by one credit (PROTOCOL.md, "How a credit travels"): sync the tree,
 * reserve a credit that is in it, check the tree against the chain, prove over the exact body and
 * bound headers, send. The credit is marked spent by the server's own rule (a 200 answer, or
 * `credit_spent`) and stays unspent otherwise. `unknown_root`, `expired_root`, `credit_in_use`
 * and `credit_spent` are retried with a fresh sync, proof or credit, a bounded number of times.
 */
import { CHAT_PATH, buildSpendWitness, encodeProofPayload, requestHash } from '@zkcredits/core';
import type { SpendProof, SpendWitness } from '@zkcredits/core/prover';
import { ClientError, briefly } from './errors.js';
import { belongsTo, credentialOf, type CreditRecord, type DeploymentRef } from './records.js';
import { readServerError, serverRejected, type FetchFn, type ServerApi } from './server-api.js';
import type { CreditStore } from './store.js';
import type { TreeSync } from './tree-sync.js';

/** Anything that proves a spend: `CreditProver` (`@zkcredits/core/prover`, or `createNodeProver`). */
export interface SpendProver {
  prove(witness: SpendWitness): Promise<SpendProof>;
  destroy?(): Promise<void>;
}

export type PaidChatContext = {
  api: ServerApi;
  /** Carries the paid request. */
  fetchFn: FetchFn;
  store: CreditStore;
  deployment: DeploymentRef;
  tree: TreeSync;
  prover(): Promise<SpendProver>;
  /** Checks the server's config (once) before anything is proven. */
  ready(signal?: AbortSignal): Promise<void>;
  /** Marks `pending` credits found in the synced tree `unspent`. */
  reconcile(): Promise<void>;
  now(): number;
  maxAttempts: number;
};

export type PaidChatRequest = {
  /** The JSON body as it will be sent (already sealed under E2EE), without `zkcredits`. */
  body: Record<string, unknown>;
  /** The bound E2EE headers, sent with the request and bound into the proof. */
  headers?: Record<string, string>;
  /** What the caller accepts back. */
  accept?: string;
  signal?: AbortSignal;
};

const RETRY_CODES = new Set(['unknown_root', 'expired_root', 'credit_in_use', 'credit_spent']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `request` paid by one credit. Resolves with the server's 200 response (its credit is
 * then spent); rejects with a `ClientError` otherwise (`server_rejected` carries the server's
 * `serverCode`, `status` and `retryAfter`), the credit kept unspent unless the server said it was spent.
 */
export async function sendPaidChat(ctx: PaidChatContext, request: PaidChatRequest): Promise<{ response: Response; credit: CreditRecord }> {
  const { signal } = request;
  const tried = new Set<string>();
  let lastRefusal: ClientError | undefined;
  for (let attempt = 0; attempt < ctx.maxAttempts; attempt++) {
    if (signal?.aborted) throw new ClientError('aborted', 'Stopped before sending. No credit was used.');
    await ctx.ready(signal);
    await ctx.tree.sync(signal);
    await ctx.reconcile();
    const credit = await reserveCredit(ctx, tried);
    try {
      // A sync started meanwhile may have appended only some of its pages: let it finish.
      while (ctx.tree.midSync) await ctx.tree.sync(signal);
      // One synchronous snapshot: the witness, and the size and root checked on chain, agree.
      const tree = ctx.tree.tree;
      if (tree.indexOf(BigInt(credit.commitment)) < 0) continue; // the mirror was reset meanwhile: sync again
      const state = { size: tree.size, root: tree.root };
      const hash = requestHash({ ...ctx.deployment, method: 'POST', path: CHAT_PATH, headers: request.headers ?? {}, body: request.body });
      const witness = buildSpendWitness(credentialOf(credit), tree, hash);
      await ctx.tree.verify(state);
      const prover = await ctx.prover();
      let proof: SpendProof;
      try {
        proof = await prover.prove(witness);
      } catch (cause) {
        throw new ClientError('prover_failed', 'This device could not make the proof. No credit was used; try again.', { details: briefly(cause), cause });
      }
      if (signal?.aborted) throw new ClientError('aborted', 'Stopped before sending. No credit was used.');
      let res: Response;
      try {
        res = await ctx.fetchFn(`${ctx.api.origin}${CHAT_PATH}`, {
          method: 'POST',
          headers: { ...request.headers, 'content-type': 'application/json', accept: request.accept ?? 'application/json' },
          body: JSON.stringify({ ...request.body, zkcredits: encodeProofPayload(proof) }),
          ...(signal ? { signal } : {}),
        });
      } catch (cause) {
        if (signal?.aborted) throw new ClientError('aborted', 'Stopped. The credit is kept (the server spends it only if the answer had begun).', { cause });
        // No answer: if the server forwarded the request anyway, it says `credit_spent` next time.
        throw new ClientError('server_unavailable', 'The zkcredits server could not be reached. The credit is kept.', { details: briefly(cause), cause });
      }
      if (res.ok) {
        // The server marks the credit spent just before it answers 200: so does the client.
        await markSpent(ctx, credit);
        return { response: res, credit };
      }
      const refusal = await readServerError(res);
      lastRefusal = serverRejected(refusal, 'The zkcredits server refused the paid request');
      if (!RETRY_CODES.has(refusal.code)) throw lastRefusal;
      if (refusal.code === 'credit_spent') await markSpent(ctx, credit);
      if (refusal.code === 'credit_spent' || refusal.code === 'credit_in_use') tried.add(credit.id);
      // A root the server does not accept: sync again (the mirror's next sync may reach a newer root).
      else await sleep(Math.min(2000, 200 * (attempt + 1)));
    } finally {
      await ctx.store.release(credit.id);
    }
  }
  throw new ClientError('retries_exhausted', 'The zkcredits server kept refusing the proofs. The remaining credits were kept; try again later.', {
    details: lastRefusal?.details,
    ...(lastRefusal?.serverCode ? { serverCode: lastRefusal.serverCode } : {}),
    cause: lastRefusal,
  });
}

async function markSpent(ctx: PaidChatContext, credit: CreditRecord): Promise<void> {
  try {
    await ctx.store.update(credit.id, { status: 'spent', spentAt: ctx.now() });
  } catch (cause) {
    throw new ClientError('store_failed', 'The credit was spent but the store could not record it.', { details: briefly(cause), cause });
  }
}

/** Reserves an unspent credit in the synced tree not tried yet; says why when there is none. */
async function reserveCredit(ctx: PaidChatContext, tried: ReadonlySet<string>): Promise<CreditRecord> {
  const tree = ctx.tree.tree;
  const credit = await ctx.store.reserve({
    deployment: ctx.deployment,
    accept: (r) => !tried.has(r.id) && tree.indexOf(BigInt(r.commitment)) >= 0,
  });
  if (credit) return credit;
  const mine = (await ctx.store.list()).filter((r) => belongsTo(r, ctx.deployment) && !tried.has(r.id));
  if (mine.some((r) => r.status === 'unspent' || r.status === 'pending')) {
    if (mine.some((r) => r.status === 'unspent' && tree.indexOf(BigInt(r.commitment)) >= 0)) {
      throw new ClientError('credits_busy', 'Every credit is in use by another request right now. Try again in a moment.', { retryAfter: 1 });
    }
    throw new ClientError('credits_not_synced', 'The server has not seen your latest purchase yet. Try again in a few seconds.', { retryAfter: 2 });
  }
  throw new ClientError('no_credits', 'You have no credits left for this server. Buy credits to keep going.');
}
