import { TreeError, ZkCreditsError } from '../errors.js';
import type { MerkleTree } from '../tree.js';
import { meteredAccountLeaf, meteredShare, stateCommitment, stateMessage, type LaneStateOpening, type MeteredTerms } from './metered.js';
import type { MeteredPublicInputs } from './metered-payload.js';
import { verifyStateSignature, type StatePublicKey, type StateSignature } from './state-key.js';
import { accountId } from './tickets.js';

/** What a client keeps of one metered account: its secret and the terms the contract wrote into its leaf. */
export type MeteredAccountTerms = { k: bigint; terms: MeteredTerms };

/**
 * Where a lane stands between calls: its genesis (nothing spent yet) or the server-signed state of its
 * last call: the opening of the commitment `cm` the client proved, and the server's `(r, p, sig)` on it.
 * All of it is private: it goes into the next proof only, never on the wire.
 */
export type LaneState =
  | { kind: 'genesis'; lane: number }
  | { kind: 'signed'; opening: LaneStateOpening; r: number; p: number; sig: StateSignature };

/** Position, balance and penalties a lane state gives its next call. */
export function laneStanding(terms: MeteredTerms, state: LaneState): { lane: number; n: number; balance: number; penalties: number } {
  if (state.kind === 'genesis') return { lane: state.lane, n: 0, balance: terms.dLane, penalties: 0 };
  const { opening: o, r, p } = state;
  return { lane: o.lane, n: o.n, balance: o.balance + r, penalties: o.penalties + p };
}

/** Private and public inputs of one metered request (PROTOCOL.md, "the metered statement"). */
export type MeteredWitness = MeteredPublicInputs & {
  k: bigint;
  terms: MeteredTerms;
  leafIndex: number;
  siblings: readonly bigint[];
  lane: number;
  genesis: boolean;
  bPre: number;
  pPre: number;
  n: number;
  salt: bigint;
  r: number;
  p: number;
  sig: StateSignature;
  saltNew: bigint;
};

/** The opening of the commitment the next call proves (`cm_new`), kept until the server signs it. */
export type PendingLaneState = LaneStateOpening;

/**
 * Everything the metered circuit needs for the next call of `state`'s lane on the request with hash
 * `x`. `saltNew` must be fresh (32 random bytes reduced into the field). Checks the signed state under
 * `stateKey` first: a state signed under any other key is refused (it would not prove, and it may tag).
 */
export function buildMeteredWitness(
  account: MeteredAccountTerms,
  tree: MerkleTree,
  state: LaneState,
  call: { x: bigint; today: number; cMax: number; stateKey: StatePublicKey; saltNew: bigint },
): { witness: MeteredWitness; next: PendingLaneState } {
  const { terms } = account;
  if (call.today > terms.expiryDay) {
    throw new ZkCreditsError('invalid_request', 'the account expired', { details: `it expired after day ${terms.expiryDay}; today is ${call.today}` });
  }
  const { lane, n, balance, penalties } = laneStanding(terms, state);
  if (lane >= 2 ** terms.lanesLog2) throw new ZkCreditsError('invalid_request', 'lane outside the account', { details: `lane ${lane} of ${2 ** terms.lanesLog2}` });
  if (state.kind === 'signed') {
    const cm = stateCommitment(account.k, state.opening);
    if (!verifyStateSignature(call.stateKey, stateMessage(cm, state.r, state.p), state.sig)) {
      throw new ZkCreditsError('state_signature_invalid', 'the lane state is not signed by the deployment state key', {
        details: 'the signature does not verify under the on-chain state key: refused (it cannot prove, and a per-user key could tag you)',
      });
    }
  }
  if (penalties >= terms.sLane) throw new ZkCreditsError('lane_frozen', 'this lane is frozen: its penalties reached its stake', { details: `penalties ${penalties} >= stake ${terms.sLane}` });
  if (balance < call.cMax) throw new ZkCreditsError('insufficient_balance', 'this lane cannot pay the worst case of a call', { details: `balance ${balance} < C_max ${call.cMax} price units` });
  const leaf = meteredAccountLeaf(accountId(account.k), terms);
  const leafIndex = tree.indexOf(leaf);
  if (leafIndex < 0) {
    throw new TreeError('leaf_not_found', 'account is not in the tree yet', { details: 'sync the tree from chain events (the opening may still be unconfirmed)' });
  }
  const { siblings, root } = tree.path(leafIndex);
  const { nullifier, y } = meteredShare(account.k, lane, n, call.x);
  const next: PendingLaneState = { lane, balance: balance - call.cMax, penalties, n: n + 1, salt: call.saltNew };
  const cmNew = stateCommitment(account.k, next);
  const prev = state.kind === 'signed' ? state : undefined;
  const witness: MeteredWitness = {
    root,
    nullifier,
    x: call.x,
    y,
    cMax: call.cMax,
    stateKey: call.stateKey,
    today: call.today,
    cmNew,
    k: account.k,
    terms,
    leafIndex,
    siblings,
    lane,
    genesis: !prev,
    bPre: prev?.opening.balance ?? 0,
    pPre: prev?.opening.penalties ?? 0,
    n,
    salt: prev?.opening.salt ?? 0n,
    r: prev?.r ?? 0,
    p: prev?.p ?? 0,
    // At genesis the circuit ignores the signature; any values satisfy it.
    sig: prev?.sig ?? { rx: 0n, ry: 0n, s: 0n },
    saltNew: call.saltNew,
  };
  return { witness, next };
}
