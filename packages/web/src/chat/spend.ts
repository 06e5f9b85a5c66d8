import { CHAT_PATH, type ChainTreeReader } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { ServerError, streamChat, type StreamE2ee } from '../api/client';
import { AppError, isAppError } from '../errors';
import { assertE2eeBody } from './e2ee';
import type { ProgressEvent, ProverApi } from '../prover/types';
import { usableAccounts } from '../accounts/usable';
import { sendMeteredChat } from './metered';
import { sendTicketChat } from './ticket';
import { checkServerDeployment, syncVerifiedTree } from './tree';
import { isActive, type CreditRecord, type Vault } from '../vault';
import { isFromResetChain, readDeploymentBlockHash } from '../chain/chain-reset';

/** `locked`: waiting for another tab to finish with the account (Web Lock). */
export type SpendStage = 'syncing' | ProgressEvent['stage'] | 'locked' | 'waiting' | 'streaming';

export type PaidChatParameters = {
  vault: Vault;
  prover: Pick<
    ProverApi,
    'appendLeaves' | 'tree' | 'resetTree' | 'indexOf' | 'prove' | 'ticketSpend' | 'ticketSettle' | 'ticketRelease' | 'ticketHeld' | 'meteredSpend' | 'meteredSettle' | 'meteredRelease' | 'meteredRecover'
  >;
  /** Reads the chain through the app's own RPC (never the API server). */
  publicClient: ChainTreeReader & Pick<PublicClient, 'getBlock'>;
  chainId: number;
  pool: Address;
  /** The OpenAI-style request body (without `zkcredits`); under E2EE, already sealed (src/chat/e2ee.ts). */
  body: Record<string, unknown>;
  /** End-to-end encryption: the headers the proof binds and sends, and the answer's decryption. */
  e2ee?: StreamE2ee;
  signal: AbortSignal;
  onStage(stage: SpendStage, info?: { elapsedMs?: number }): void;
  onDelta(text: string): void;
};

/**
 * `credit`: the credit's record id, or the account's for a ticket (`ticket`: its index) or a
 * metered call (`metered`: its lane, and what it cost in price units once its state came back).
 */
export type PaidChatResult = { proofMs: number; loadMs: number; credit: string; ticket?: number; metered?: { lane: number; cost?: number }; finishReason?: string };

/** Credits picked by in-flight requests of this tab. */
const inFlight = new Set<string>();

function nextCredit(vault: Vault, chainId: number, pool: Address): CreditRecord | undefined {
  return vault
    .list()
    .find((r) => isActive(r) && r.status === 'unspent' && r.chainId === chainId && r.contract.toLowerCase() === pool.toLowerCase() && !inFlight.has(r.id));
}

export const CHAIN_RESET_MESSAGE =
  'This credit was bought on an earlier run of this chain, which has been reset: it can never be used here. Archive such credits in the notice above.';

/** Whether a credit missing from the tree comes from a chain that was reset (so waiting will not help). */
async function fromResetChain(p: PaidChatParameters, credit: CreditRecord): Promise<boolean> {
  try {
    const [deploymentBlockHash, latestBlock] = await Promise.all([
      readDeploymentBlockHash(p.publicClient, p.pool),
      p.publicClient.getBlockNumber({ cacheTime: 0 }),
    ]);
    return isFromResetChain(credit, { chainId: p.chainId, pool: p.pool, deploymentBlockHash, latestBlock });
  } catch {
    return false;
  }
}

/**
 * Sends one chat request paid by a metered account when one can pay it (src/chat/metered.ts), else
 * by one ticket of a flat v2 account (src/chat/ticket.ts), else by one v1 credit, proven in this browser. The server's tree is
 * checked against the chain before proving (a tree with leaves left out would shrink the
 * anonymity set). The credit is marked spent when the server says so, by the server's own
 * rule: a 200 answer whose stream began (even if it breaks later), or `credit_spent`; on any
 * other failure it stays unspent and the error says why.
 */
export async function sendPaidChat(p: PaidChatParameters): Promise<PaidChatResult> {
  if (p.e2ee) assertE2eeBody(p.body); // before anything is proven or sent
  const creditLeft = nextCredit(p.vault, p.chainId, p.pool) !== undefined;
  const ticketLeft = usableAccounts(p.vault.accounts(), p.chainId, p.pool).length > 0;
  const byMetered = await sendMeteredChat(p, { otherwise: creditLeft || ticketLeft });
  if (byMetered) return byMetered;
  const byTicket = await sendTicketChat(p, { creditLeft });
  if (byTicket) return byTicket;
  for (let attempt = 0; attempt < 4; attempt++) {
    const credit = nextCredit(p.vault, p.chainId, p.pool);
    if (!credit) throw new AppError('no_credits', 'You have no credits left. Buy credits to keep chatting.');
    inFlight.add(credit.id);
    try {
      p.onStage('syncing');
      await checkServerDeployment(p.chainId, p.pool, p.signal);
      const tree = await syncVerifiedTree(p);
      if ((await p.prover.indexOf(credit.commitment)) < 0) {
        if (await fromResetChain(p, credit)) throw new AppError('chain_reset', CHAIN_RESET_MESSAGE);
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
          ...(p.e2ee ? { headers: p.e2ee.headers } : {}),
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
      if (BigInt(proof.payload.root) !== BigInt(tree.root)) continue; // the mirror grew meanwhile: check and prove again
      if (p.signal.aborted) throw new AppError('aborted', 'Stopped before sending. Your credit was not used.');
      p.onStage('waiting', { elapsedMs: proof.proveMs });
      let accepted = false;
      try {
        const result = await streamChat(
          { ...p.body, zkcredits: proof.payload },
          {
            onOpen() {
              // The server marks the credit spent just before it answers 200: so do we.
              accepted = true;
              p.onStage('streaming');
            },
            onDelta: p.onDelta,
          },
          p.signal,
          p.e2ee,
        );
        await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
        return { proofMs: proof.proveMs + proof.witnessMs, loadMs: proof.loadMs, credit: credit.id, finishReason: result.finishReason };
      } catch (error) {
        if (accepted) {
          await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
          if (p.signal.aborted) throw new AppError('aborted', 'Stopped.');
          if (isAppError(error, 'e2ee_failed')) {
            throw new AppError('e2ee_failed', `${error.shortMessage} Its credit was used.`, { details: error.details, cause: error });
          }
          throw new AppError('upstream_failed', 'The answer broke off after it had started; its credit was used. Send the message again to retry.', {
            details: error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined,
            cause: error,
          });
        }
        if (error instanceof ServerError) {
          if (error.serverCode === 'credit_spent') {
            await p.vault.update(credit.id, { status: 'spent', spentAt: Date.now() });
            continue; // that credit was used elsewhere (another browser?): try the next one
          }
          if (error.serverCode === 'credit_in_use') continue;
          if (error.serverCode === 'unknown_root' || error.serverCode === 'expired_root') continue;
        }
        // No 200 answer: the server released the reservation, the credit stays unspent.
        throw error;
      }
    } finally {
      inFlight.delete(credit.id);
    }
  }
  throw new AppError('server_rejected', 'The server kept refusing the proofs. Your remaining credits were kept; try again later.');
}
