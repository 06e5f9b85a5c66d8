// nodeProvers(): the credit, ticket and metered provers of one client on one bb backend, which stops
// only once all are destroyed (a process paying with metered accounts, tickets and credits runs one bb).
import {
  MerkleTree,
  accountId,
  buildSpendWitness,
  buildMeteredWitness,
  buildTicketWitness,
  credentialCommitment,
  flatAccountLeaf,
  generateCredential,
  generateStateSecret,
  initPoseidon2,
  meteredAccountLeaf,
  statePublicKey,
} from '@zkcredits/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeProvers } from '../src/node.js';

describe('nodeProvers', () => {
  const credential = generateCredential();
  const account = { k: 0xfeedn, tickets: 3, expiryDay: 30_000 };
  const metered = { k: 0xbeefn, terms: { dLane: 100, lanesLog2: 0, sLane: 5, expiryDay: 30_000 } };
  let tree: MerkleTree;
  beforeAll(async () => {
    await initPoseidon2();
    tree = MerkleTree.fromLeaves([
      credentialCommitment(credential),
      flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay),
      meteredAccountLeaf(accountId(metered.k), metered.terms),
    ]);
  });

  it('proves credits and tickets on one backend, which outlives the first destroy and restarts after both', async () => {
    const factories = nodeProvers({ backend: 'native' });
    const credit = await factories.prover();
    const ticket = await factories.ticketProver();
    const meteredProver = await factories.meteredProver();
    const spend = await credit.prove(buildSpendWitness(credential, tree, 11n));
    expect(spend.publicInputs.root).toBe(tree.root);
    await credit.destroy!();
    await credit.destroy!(); // twice is once
    const stateKey = statePublicKey(generateStateSecret());
    const { witness } = buildMeteredWitness(metered, tree, { kind: 'genesis', lane: 0 }, { x: 14n, today: 20_000, cMax: 40, stateKey, saltNew: 7n });
    expect((await meteredProver.prove(witness)).publicInputs.x).toBe(14n);
    await meteredProver.destroy!();
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
