// Benchmarks of the protocol core: circuit sizes, proving/verifying (v1 credits and v2 flat tickets,
// interleaved on one backend so both figures come from the same conditions), tree building.
import {
  CREDIT_CIRCUIT_GATES,
  MerkleTree,
  TICKET_CIRCUIT_GATES,
  accountId,
  buildSpendWitness,
  buildTicketWitness,
  credentialCommitment,
  flatAccountLeaf,
  generateCredential,
  initPoseidon2,
} from '../packages/core/src/index.js';
import { createNodeProvers } from '../packages/core/src/node/index.js';
import { median, time } from './util.js';

export async function benchCore(): Promise<Record<string, number>> {
  await initPoseidon2();
  const credentials = Array.from({ length: 64 }, generateCredential);
  const account = { k: 0x1234567n, tickets: 100, expiryDay: 30_000 };
  const tree = MerkleTree.fromLeaves([...credentials.map(credentialCommitment), flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay)]);
  const witness = (i: number) => buildSpendWitness(credentials[i]!, tree, BigInt(1000 + i));
  const ticketWitness = (i: number) => buildTicketWitness(account, tree, i, BigInt(1000 + i), 20_000);

  const results: Record<string, number> = { circuit_gates: CREDIT_CIRCUIT_GATES, ticket_gates: TICKET_CIRCUIT_GATES };
  for (const backend of ['native', 'wasm'] as const) {
    const { credit, ticket, destroy } = await createNodeProvers({ backend });
    await credit.verify(await credit.prove(witness(0))); // warm-up
    await ticket.verify(await ticket.prove(ticketWitness(0)));
    const prove: number[] = [];
    const verify: number[] = [];
    const proveTicket: number[] = [];
    const verifyTicket: number[] = [];
    for (let i = 1; i <= 9; i++) {
      const spent = await time(() => credit.prove(witness(i)));
      prove.push(spent.ms);
      verify.push((await time(() => credit.verify(spent.value))).ms);
      const used = await time(() => ticket.prove(ticketWitness(i)));
      proveTicket.push(used.ms);
      verifyTicket.push((await time(() => ticket.verify(used.value))).ms);
    }
    results[`prove_${backend}_ms`] = median(prove);
    results[`verify_${backend}_ms`] = median(verify);
    results[`prove_ticket_${backend}_ms`] = median(proveTicket);
    results[`verify_ticket_${backend}_ms`] = median(verifyTicket);
    await destroy();
  }
  // Issue 12's target: a ticket proves within 1.3× a v1 credit, measured in the same run.
  results.prove_ticket_native_vs_v1 = Math.round((results.prove_ticket_native_ms! / results.prove_native_ms!) * 100) / 100;

  const leaves = Array.from({ length: 100_000 }, (_, i) => BigInt(i + 1));
  results.tree_build_100k_ms = (await time(async () => MerkleTree.fromLeaves(leaves))).ms;
  return results;
}
