import { isZkCreditsError } from '@zkcredits/core';
import { createNodeProver, createNodeProvers, type NodeProvers } from '@zkcredits/core/node';
import type { CreditProver } from '@zkcredits/core/prover';
import type { Config } from '../config.js';
import { BackendSlot } from './backend-slot.js';
import { WorkerPool } from './pool.js';
import type { Prover, Verifier } from './types.js';

/**
 * Verifier and prover pools backed by N Barretenberg instances (native bb when available). Each
 * verifier slot is one bb backend serving every circuit (v1 credits, v2 tickets and metered calls).
 */
export type ProofPools = {
  verifier: Verifier & { readonly pool: WorkerPool<BackendSlot<NodeProvers>> };
  prover: (Prover & { readonly pool: WorkerPool<BackendSlot<CreditProver>> }) | undefined;
  /** Which backend bb runs on: "native" or "wasm". */
  backend: string;
  destroy(): Promise<void>;
};

/** A backend failed (its bb process died): the slot starts a fresh one for the next task. */
const backendFailed = (err: unknown) => isZkCreditsError(err, 'backend_failed');

export async function createProofPools(config: Config, options: { prover?: boolean } = {}): Promise<ProofPools> {
  const params = { backend: config.proofs.backend, crsPath: config.proofs.crsPath };
  let backend = '';
  const slot = async <W extends { kind: string; destroy(): Promise<void> }>(make: () => Promise<W>) => {
    const first = await make();
    backend = first.kind;
    return new BackendSlot(first, make, backendFailed);
  };
  const verifiers = await Promise.all(Array.from({ length: config.proofs.verifiers }, () => slot(() => createNodeProvers(params))));
  const wantProver = options.prover ?? config.apiKeyMode;
  const provers = wantProver ? await Promise.all(Array.from({ length: config.proofs.provers }, () => slot<CreditProver>(() => createNodeProver(params)))) : [];
  const retryAfterSeconds = config.limits.retryAfterSeconds;
  const vPool = new WorkerPool(verifiers, { maxQueue: config.proofs.verifyQueue, busyCode: 'verifier_busy', retryAfterSeconds });
  const pPool = provers.length ? new WorkerPool(provers, { maxQueue: config.proofs.proveQueue, busyCode: 'prover_busy', retryAfterSeconds }) : undefined;
  return {
    verifier: {
      pool: vPool,
      verify: (proof) => vPool.run((s) => s.run((w) => w.credit.verify(proof))),
      verifyTicket: (proof) => vPool.run((s) => s.run((w) => w.ticket.verify(proof))),
      verifyMetered: (proof) => vPool.run((s) => s.run((w) => w.metered.verify(proof))),
    },
    prover: pPool && { pool: pPool, prove: (witness) => pPool.run((s) => s.run((w) => w.prove(witness))) },
    backend,
    async destroy() {
      await Promise.all([...verifiers, ...provers].map((s) => s.destroy()));
    },
  };
}
