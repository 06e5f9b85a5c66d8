import { TreeError, ZkCreditsError } from '../errors.js';
import type { TicketWitness } from '../prover/ticket-prover.js';
import type { MerkleTree } from '../tree.js';
import { accountId, flatAccountLeaf, ticketShare } from './tickets.js';

/** What a client keeps of one flat account: its secret and the terms the contract wrote into its leaf. */
export type FlatAccountTerms = { k: bigint; tickets: number; expiryDay: number };

/**
 * Everything the ticket circuit needs to spend ticket `ticket` of `account` on the request with hash
 * `x` on UTC day `today`. The tree must already hold the account's leaf.
 */
export function buildTicketWitness(account: FlatAccountTerms, tree: MerkleTree, ticket: number, x: bigint, today: number): TicketWitness {
  if (ticket >= account.tickets) {
    throw new ZkCreditsError('invalid_request', 'the account has no ticket left', { details: `ticket ${ticket} of ${account.tickets}` });
  }
  if (today > account.expiryDay) {
    throw new ZkCreditsError('invalid_request', 'the account expired', { details: `it expired after day ${account.expiryDay}; today is ${today}` });
  }
  const leaf = flatAccountLeaf(accountId(account.k), account.tickets, account.expiryDay);
  const leafIndex = tree.indexOf(leaf);
  if (leafIndex < 0) {
    throw new TreeError('leaf_not_found', 'account is not in the tree yet', {
      details: 'sync the tree from chain events (the opening may still be unconfirmed)',
    });
  }
  const { siblings, root } = tree.path(leafIndex);
  const { nullifier, y } = ticketShare(account.k, ticket, x);
  return { root, nullifier, x, y, today, k: account.k, tickets: account.tickets, expiryDay: account.expiryDay, ticket, leafIndex, siblings };
}
