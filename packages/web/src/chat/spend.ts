import { CHAT_PATH, isZkCreditsError, verifyTreeOnChain, type ChainTreeReader } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { fetchLeaves, getServerConfig, ServerError, streamChat, type StreamE2ee } from '../api/client';
import { AppError, isAppError } from '../errors';
import { assertE2eeBody } from './e2ee';
import type { ProgressEvent, ProverApi } from '../prover/types';
import { isActive, type CreditRecord, type Vault } from '../vault';
import { isFromResetChain, readDeploymentBlockHash } from '../chain/chain-reset';

export type SpendStage = 'syncing' | ProgressEvent['stage'] | 'waiting' | 'streaming';

export type PaidChatParameters = {
  vault: Vault;
  prover: Pick<ProverApi, 'appendLeaves' | 'tree' | 'resetTree' | 'indexOf' | 'prove'>;
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

export type PaidChatResult = { proofMs: number; loadMs: number; credit: string; finishReason?: string };

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

/** Deployments (chain id, CreditPool) whose server this tab has found serving them. */
const checkedServers = new Set<string>();

/**
 * Refuses a server that serves another deployment than this app's (`chainId` and `pool`, from
 * the deployment manifest): its leaves are another contract's and it could not accept a proof
 * made for this one. Asked once per tab and deployment, before anything is proven or sent.
 */
export async function checkServerDeployment(chainId: number, pool: Address, signal?: AbortSignal): Promise<void> {
  const key = `${chainId}:${pool.toLowerCase()}`;
  if (checkedServers.has(key)) return;
  const server = await getServerConfig(signal);
  if (server.chainId !== chainId || server.contract.toLowerCase() !== pool.toLowerCase()) {
    throw new AppError('wrong_server', 'The zkcredits server behind this app serves another deployment. Nothing was proven or paid; the site’s operator has to fix its configuration.', {
      details: `server: chain ${server.chainId}, CreditPool ${server.contract}; this app: chain ${chainId}, CreditPool ${pool}`,
    });
  }
  checkedServers.add(key);
}

/** Brings the worker's tree mirror up to date with the server's leaves (only new ones). */
export async function syncTree(prover: Pick<ProverApi, 'appendLeaves' | 'tree'>, signal?: AbortSignal): Promise<number> {
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
 * Sends one chat request paid by one credit, proven in this browser. The server's tree is
 * checked against the chain before proving (a tree with leaves left out would shrink the
 * anonymity set). The credit is marked spent when the server says so, by the server's own
 * rule: a 200 answer whose stream began (even if it breaks later), or `credit_spent`; on any
 * other failure it stays unspent and the error says why.
 */
export async function sendPaidChat(p: PaidChatParameters): Promise<PaidChatResult> {
  if (p.e2ee) assertE2eeBody(p.body); // before anything is proven or sent
  for (let attempt = 0; attempt < 4; attempt++) {
    const credit = nextCredit(p.vault, p.chainId, p.pool);
    if (!credit) throw new AppError('no_credits', 'You have no credits left. Buy credits to keep chatting.');
    inFlight.add(credit.id);
    try {
      p.onStage('syncing');
      await checkServerDeployment(p.chainId, p.pool, p.signal);
      await syncTree(p.prover, p.signal);
      const tree = await p.prover.tree();
      try {
        await verifyTreeOnChain(p.publicClient, p.pool, p.chainId, tree);
      } catch (error) {
        if (!isZkCreditsError(error, 'tree_mismatch') && !isZkCreditsError(error, 'chain_unavailable')) throw error;
        // Do not keep leaves the chain does not vouch for: the next attempt syncs from scratch.
        if (error.code === 'tree_mismatch') await p.prover.resetTree();
        throw new AppError(error.code, error.shortMessage, { details: error.details, cause: error });
      }
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
