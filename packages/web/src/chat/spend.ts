import type { Address } from 'viem';
import { fetchLeaves, ServerError, streamChat } from '../api/client';
import { AppError } from '../errors';
import type { ProgressEvent, ProverApi } from '../prover/types';
import type { CreditRecord, Vault } from '../vault';

export const CHAT_PATH = '/v1/chat/completions';

export type SpendStage = 'syncing' | ProgressEvent['stage'] | 'waiting' | 'streaming';

export type PaidChatParameters = {
  vault: Vault;
  prover: Pick<ProverApi, 'appendLeaves' | 'tree' | 'indexOf' | 'prove'>;
  chainId: number;
  pool: Address;
  /** The OpenAI-style request body (without `zkcredits`). */
  body: Record<string, unknown>;
  signal: AbortSignal;
  onStage(stage: SpendStage, info?: { elapsedMs?: number }): void;
  onDelta(text: string): void;
};

export type PaidChatResult = { proofMs: number; loadMs: number; credit: string; finishReason?: string };

/** Credits picked by in-flight requests of this tab. */
const inFlight = new Set<string>();

/** Server codes after which the credit may be used again as is (nothing was spent). */
const KEEP = new Set(['upstream_error', 'upstream_timeout', 'upstream_busy', 'upstream_rejected', 'verifier_busy', 'prover_busy', 'not_ready', 'shutting_down', 'rate_limited', 'internal_error']);

function nextCredit(vault: Vault, chainId: number, pool: Address): CreditRecord | undefined {
  return vault
    .list()
    .find((r) => r.status === 'unspent' && r.chainId === chainId && r.contract.toLowerCase() === pool.toLowerCase() && !inFlight.has(r.id));
}

/** Brings the worker's tree mirror up to date with the server's leaves (only new ones). */
export async function syncTree(prover: PaidChatParameters['prover'], signal?: AbortSignal): Promise<number> {
  for (let guard = 0; guard < 1000; guard++) {
    const { size } = await prover.tree();
    const page = await fetchLeaves(size, signal);
    if (page.size < size) throw new AppError('server_unavailable', 'The server’s credit tree is behind this browser’s. Try again shortly.');
    if (page.leaves.length === 0) return size;
    const state = await prover.appendLeaves(page.start, page.leaves);
    if (state.size >= page.size) {
      if (state.size === page.size && state.root !== page.root) {
        throw new AppError('server_unavailable', 'The server’s credit tree does not match the leaves it sent.', { details: `root ${page.root}` });
      }
      return state.size;
    }
  }
  return (await prover.tree()).size;
}

/**
 * Sends one chat request paid by one credit, proven in this browser. The credit is marked
 * spent only when the server accepts the proof (or says it was already spent); on any other
 * failure it stays unspent and the error says why.
 */
export async function sendPaidChat(p: PaidChatParameters): Promise<PaidChatResult> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const credit = nextCredit(p.vault, p.chainId, p.pool);
    if (!credit) throw new AppError('no_credits', 'You have no credits left. Buy credits to keep chatting.');
    inFlight.add(credit.id);
    try {
      p.onStage('syncing');
      await syncTree(p.prover, p.signal);
      if ((await p.prover.indexOf(credit.commitment)) < 0) {
        throw new AppError('server_unavailable', 'The server has not seen your latest purchase yet. Try again in a few seconds.');
      }
      const proof = await p.prover
        .prove(
        {
          nullifier: credit.nullifier,
          secret: credit.secret,
          commitment: credit.commitment,
          chainId: p.chainId,
          contract: p.pool,
          method: 'POST',
          path: CHAT_PATH,
          body: p.body,
        },
        (e) => p.onStage(e.stage, { elapsedMs: e.elapsedMs }),
        )
        .catch((cause: unknown) => {
          throw new AppError('prover_failed', 'This device could not make the proof. Your credit was not used; try again.', {
            details: cause instanceof Error ? cause.message.slice(0, 200) : undefined,
            cause,
          });
        });
      if (p.signal.aborted) throw new AppError('aborted', 'Stopped before sending. Your credit was not used.');
      p.onStage('waiting', { elapsedMs: proof.proveMs });
      let accepted = false;
      try {
        const result = await streamChat(
          { ...p.body, zkcredits: proof.payload },
          {
            onDelta(text) {
              if (!accepted) {
                accepted = true;
                p.onStage('streaming');
              }
              p.onDelta(text);
            },
          },
          p.signal,
        );
        await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
        return { proofMs: proof.proveMs + proof.witnessMs, loadMs: proof.loadMs, credit: credit.id, finishReason: result.finishReason };
      } catch (error) {
        if (error instanceof ServerError) {
          if (error.serverCode === 'credit_spent') {
            await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
            continue; // that credit was used elsewhere (another browser?): try the next one
          }
          if (error.serverCode === 'credit_in_use') continue;
          if (error.serverCode === 'unknown_root' || error.serverCode === 'expired_root') continue;
          if (!KEEP.has(error.serverCode) && accepted) {
            await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
          }
          throw error;
        }
        if (accepted) {
          // The server accepted the proof and started answering: the credit is spent.
          await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
          if (p.signal.aborted) throw new AppError('aborted', 'Stopped.');
        }
        throw error;
      }
    } finally {
      inFlight.delete(credit.id);
    }
  }
  throw new AppError('server_rejected', 'The server kept refusing the proofs. Your remaining credits were kept; try again later.');
}
