// Benchmarks of the protocol core: circuit size, proving/verifying, tree building.
import {
  CREDIT_CIRCUIT_GATES,
  MerkleTree,
  buildSpendWitness,
  credentialCommitment,
  generateCredential,
  initPoseidon2,
} from '../packages/core/src/index.js';
import { createNodeProver } from '../packages/core/src/node/index.js';
import { median, time } from './util.js';

export async function benchCore(): Promise<Record<string, number>> {
  await initPoseidon2();
  const credentials = Array.from({ length: 64 }, generateCredential);
  const tree = MerkleTree.fromLeaves(credentials.map(credentialCommitment));
  const witness = (i: number) => buildSpendWitness(credentials[i]!, tree, BigInt(1000 + i));

  const results: Record<string, number> = { circuit_gates: CREDIT_CIRCUIT_GATES };
  for (const backend of ['native', 'wasm'] as const) {
    const prover = await createNodeProver({ backend });
    await prover.verify(await prover.prove(witness(0))); // warm-up
    const prove: number[] = [];
    const verify: number[] = [];
    for (let i = 1; i <= 9; i++) {
      const { ms, value } = await time(() => prover.prove(witness(i)));
      prove.push(ms);
      verify.push((await time(() => prover.verify(value))).ms);
    }
    results[`prove_${backend}_ms`] = median(prove);
    results[`verify_${backend}_ms`] = median(verify);
    await prover.destroy();
  }

  const leaves = Array.from({ length: 100_000 }, (_, i) => BigInt(i + 1));
  results.tree_build_100k_ms = (await time(async () => MerkleTree.fromLeaves(leaves))).ms;
  return results;
}
