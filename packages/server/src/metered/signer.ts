import { signState, stateMessage, statePublicKey, type StatePublicKey, type StateSignature } from '@zkcredits/core';
import type { ChainView } from '../chain/indexer.js';
import { ApiError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** The deployment's metered terms as this server serves them: C_max, the price unit and the keys a proof may name. */
export type MeteredTerms = {
  cMax: number;
  priceUnit: bigint;
  /** The current state key (this server's), then the previous one while it is still valid. */
  proofKeys: StatePublicKey[];
};

/**
 * Signs lane states with the server's Grumpkin state secret, and says whether metered calls can be
 * served now: the chain must have metered terms, and its current state key must be this secret's
 * public key. Anything else fails closed: a state signed under a key the chain does not pin is one
 * the client refuses, and its lane would stall. The secret never leaves this object.
 */
export class StateSigner {
  readonly publicKey: StatePublicKey;
  readonly #secret: bigint;
  private lastMatch: boolean | undefined;
  private readonly log: Logger;

  constructor(
    secret: bigint,
    private readonly deps: { chain: ChainView; metrics: Metrics; logger: Logger },
  ) {
    this.#secret = secret;
    this.publicKey = statePublicKey(secret);
    this.log = deps.logger.child({ subsystem: 'metered' });
  }

  /** σ over `H(TAG_STATE, cm, r + p·2^40)`; timed in `zkc_state_sign_seconds`. */
  sign(cm: bigint, r: number, p: number): StateSignature {
    const end = this.deps.metrics.stateSignSeconds.startTimer();
    try {
      return signState(this.#secret, stateMessage(cm, r, p));
    } finally {
      end();
    }
  }

  /**
   * The terms a metered call is served on now (`nowSeconds`: unix seconds, for the previous key's grace).
   * @throws {ApiError} `metered_unavailable` before the chain's metered views are read (or on a
   * contract without them); `state_key_mismatch` when the chain pins another key than this one.
   */
  terms(nowSeconds: number): MeteredTerms {
    const m = this.deps.chain.status.metered;
    if (!m) throw new ApiError('metered_unavailable', { details: 'the deployment\'s metered terms are not read from the chain yet' });
    const { current, previous } = m.stateKeys;
    const match = current.x === this.publicKey.x && current.y === this.publicKey.y;
    this.noteMatch(match);
    if (!match) throw new ApiError('state_key_mismatch');
    const proofKeys = [current];
    if (previous && nowSeconds < previous.validUntil) proofKeys.push(previous.key);
    return { cMax: m.cMax, priceUnit: m.priceUnit, proofKeys };
  }

  /** Logs a (mis)match once per change: an operator must fix a mismatch; the log says how. */
  private noteMatch(match: boolean): void {
    if (match === this.lastMatch) return;
    this.lastMatch = match;
    if (match) this.log.info({ stateKey: { x: hex(this.publicKey.x), y: hex(this.publicKey.y) } }, 'the state key matches the one pinned on-chain: metered calls on');
    else {
      this.log.error(
        { stateKey: { x: hex(this.publicKey.x), y: hex(this.publicKey.y) } },
        'ZKC_STATE_KEY is not the state key the CreditPool pins (stateKeys().x, y): metered calls are refused (state_key_mismatch). Configure the secret of the on-chain key, or rotate the on-chain key to this one (proposeStateKey, then activateStateKey after the delay)',
      );
    }
  }
}

const hex = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`;
