// nodeProvers(): the credit and the ticket prover of one client on one bb backend, which stops only
// once both are destroyed (a process paying with tickets and credits runs one bb, not two).
import {
  MerkleTree,
  accountId,
  buildSpendWitness,
  buildTicketWitness,
  credentialCommitment,
  flatAccountLeaf,
  generateCredential,
  initPoseidon2,
} from '@zkcredits/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeProvers } from '../src/node.js';

describe('nodeProvers', () => {
  const credential = generateCredential();
  const account = { k: 0xfeedn, tickets: 3, expiryDay: 30_000 };
  let tree: MerkleTree;
  beforeAll(async () => {
    await initPoseidon2();
    tree = MerkleTree.fromLeaves([credentialCommitment(credential), flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay)]);
  });

  it('proves credits and tickets on one backend, which outlives the first destroy and restarts after both', async () => {
    const factories = nodeProvers({ backend: 'native' });
    const credit = await factories.prover();
    const ticket = await factories.ticketProver();
    const spend = await credit.prove(buildSpendWitness(credential, tree, 11n));
    expect(spend.publicInputs.root).toBe(tree.root);
    await credit.destroy!();
    await credit.destroy!(); // twice is once
    // The ticket prover still has the backend.
    const used = await ticket.prove(buildTicketWitness(account, tree, 0, 12n, 20_000));
    expect(used.publicInputs.x).toBe(12n);
    await ticket.destroy!();
    // Both released: the next use starts a fresh backend.
    const again = await factories.ticketProver();
    expect((await again.prove(buildTicketWitness(account, tree, 1, 13n, 20_000))).publicInputs.x).toBe(13n);
    await again.destroy!();
  });
});
