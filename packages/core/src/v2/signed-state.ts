import { z } from 'zod';
import { ZkCreditsError } from '../errors.js';
import { parseField, toFieldHex, type FieldHex } from '../field.js';
import { MAX_METERED_AMOUNT } from './metered.js';
import { STATE_KEY_ORDER, type StateSignature } from './state-key.js';

/**
 * The server's answer to a metered call (PROTOCOL.md, "state return"): the refund `r` and penalty `p`
 * it signed on the call's `cm_new`, and the Schnorr signature. Sent as the `zkcredits` member of a JSON
 * answer, as the `zkcredits.state` SSE event, and by `GET /v2/zkcredits/state/{nullifier}`.
 * `reason` names the policy rule when `p > 0`.
 */
export type SignedState = { nullifier: bigint; r: number; p: number; sig: StateSignature; reason?: string };

export type SignedStateWire = {
  v: 2;
  kind: 'metered_state';
  nullifier: FieldHex;
  r: number;
  p: number;
  sig: { rx: FieldHex; ry: FieldHex; s: FieldHex };
  reason?: string;
};

const amount = z.number().int().min(0).max(MAX_METERED_AMOUNT);
const wireSchema = z.strictObject({
  v: z.literal(2),
  kind: z.literal('metered_state'),
  nullifier: z.string(),
  r: amount,
  p: amount,
  sig: z.strictObject({ rx: z.string(), ry: z.string(), s: z.string() }),
  reason: z.string().regex(/^[a-z0-9_]{1,64}$/).optional(),
});

export function encodeSignedState(s: SignedState): SignedStateWire {
  return {
    v: 2,
    kind: 'metered_state',
    nullifier: toFieldHex(s.nullifier),
    r: s.r,
    p: s.p,
    sig: { rx: toFieldHex(s.sig.rx), ry: toFieldHex(s.sig.ry), s: `0x${s.sig.s.toString(16).padStart(64, '0')}` as FieldHex },
    ...(s.reason ? { reason: s.reason } : {}),
  };
}

/**
 * Parses an untrusted signed state (the client's side). It does not check the signature: that needs
 * the lane's commitment opening and the on-chain key (`verifyStateSignature`).
 */
export function decodeSignedState(value: unknown): SignedState {
  const parsed = wireSchema.safeParse(value);
  if (!parsed.success) {
    throw new ZkCreditsError('invalid_request', 'malformed signed state', {
      details: 'expected {"v": 2, "kind": "metered_state", "nullifier", "r", "p", "sig": {"rx", "ry", "s"}} from the server',
    });
  }
  const d = parsed.data;
  const s = /^0x[0-9a-f]{64}$/.test(d.sig.s) ? BigInt(d.sig.s) : STATE_KEY_ORDER;
  if (s >= STATE_KEY_ORDER) {
    throw new ZkCreditsError('invalid_request', 'malformed signed state', { details: 'sig.s must be 0x + 64 lowercase hex below the Grumpkin order' });
  }
  return {
    nullifier: parseField(d.nullifier, 'nullifier'),
    r: d.r,
    p: d.p,
    sig: { rx: parseField(d.sig.rx, 'sig.rx'), ry: parseField(d.sig.ry, 'sig.ry'), s },
    ...(d.reason ? { reason: d.reason } : {}),
  };
}
