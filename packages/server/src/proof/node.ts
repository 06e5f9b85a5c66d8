import { createNodeProver } from '@zkcredits/core/node';
import type { CreditProver } from '@zkcredits/core/prover';
import type { Config } from '../config.js';
import { WorkerPool } from './pool.js';
import type { Prover, Verifier } from './types.js';

/** Verifier and prover pools backed by N Barretenberg instances (native bb when available). */
export type ProofPools = {
  verifier: Verifier & { readonly pool: WorkerPool<CreditProver> };
  prover: (Prover & { readonly pool: WorkerPool<CreditProver> }) | undefined;
  /** Which backend bb runs on: "native" or "wasm". */
  backend: string;
  destroy(): Promise<void>;
};

export async function createProofPools(config: Config, options: { prover?: boolean } = {}): Promise<ProofPools> {
  const make = () => createNodeProver({ backend: config.proofs.backend, crsPath: config.proofs.crsPath });
  const verifiers = await Promise.all(Array.from({ length: config.proofs.verifiers }, make));
  const wantProver = options.prover ?? config.apiKeyMode;
  const provers = wantProver ? await Promise.all(Array.from({ length: config.proofs.provers }, make)) : [];
  const retryAfterSeconds = config.limits.retryAfterSeconds;
  const vPool = new WorkerPool(verifiers, { maxQueue: config.proofs.verifyQueue, busyCode: 'verifier_busy', retryAfterSeconds });
  const pPool = provers.length ? new WorkerPool(provers, { maxQueue: config.proofs.proveQueue, busyCode: 'prover_busy', retryAfterSeconds }) : undefined;
  return {
    verifier: { pool: vPool, verify: (proof) => vPool.run((w) => w.verify(proof)) },
    prover: pPool && { pool: pPool, prove: (witness) => pPool.run((w) => w.prove(witness)) },
    backend: verifiers[0]!.kind,
    async destroy() {
      await Promise.all([...verifiers, ...provers].map((p) => p.destroy().catch(() => {})));
    },
  };
}
