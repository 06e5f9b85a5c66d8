// The server's state key (PROTOCOL.md, "Protocol v2, step 2: metered accounts"): Schnorr signatures on
// Grumpkin, the curve whose base field is the BN254 scalar field, so the metered circuit verifies them
// natively. Challenge e = H(R.x, R.y, m) with the v1 Poseidon2 sponge; a signature (R, s) on m is valid
// under public key PK iff s·G − e·PK = R. The circuit checks exactly this equation.
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { ZkCreditsError } from '../errors.js';
import { fieldToBytes } from '../field.js';
import { FIELD_MODULUS } from '../generated/constants.js';
import { poseidon2Hash } from '../poseidon2.js';

/** Grumpkin: y² = x³ − 17 over the BN254 scalar field; its group order is the BN254 base field modulus. */
const GRUMPKIN_ORDER = 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47n;
const Grumpkin = weierstrass<bigint>({
  p: FIELD_MODULUS,
  n: GRUMPKIN_ORDER,
  h: 1n,
  a: 0n,
  b: FIELD_MODULUS - 17n,
  Gx: 1n,
  Gy: 17631683881184975370165255887551781615748388533673675138860n,
});
type GrumpkinPoint = InstanceType<typeof Grumpkin>;

/** An affine Grumpkin point: a state public key as pinned on-chain (`stateKeyX`, `stateKeyY`). */
export type StatePublicKey = { x: bigint; y: bigint };

/** A Schnorr signature: the commitment point R and the response s (< the Grumpkin order). */
export type StateSignature = { rx: bigint; ry: bigint; s: bigint };

/** The Grumpkin group order (the range of secret keys and of `s`). */
export const STATE_KEY_ORDER = GRUMPKIN_ORDER;

function point({ x, y }: StatePublicKey, what: string): GrumpkinPoint {
  try {
    const p = Grumpkin.fromAffine({ x, y });
    p.assertValidity();
    return p;
  } catch (cause) {
    throw new ZkCreditsError('invalid_request', `${what} is not a point of Grumpkin`, { cause });
  }
}

function assertSecret(sk: bigint): void {
  if (typeof sk !== 'bigint' || sk <= 0n || sk >= GRUMPKIN_ORDER) {
    throw new ZkCreditsError('invalid_request', 'state secret key out of range', { details: '1 <= sk < the Grumpkin order' });
  }
}

/** Reduces 64 uniform bytes modulo the group order (bias below 2^-250). */
function scalarFrom(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v % (GRUMPKIN_ORDER - 1n) + 1n;
}

/** A fresh state secret key from the platform CSPRNG. */
export function generateStateSecret(): bigint {
  return scalarFrom(globalThis.crypto.getRandomValues(new Uint8Array(64)));
}

/** The public key `sk·G` of a state secret key. */
export function statePublicKey(sk: bigint): StatePublicKey {
  assertSecret(sk);
  const { x, y } = Grumpkin.BASE.multiply(sk).toAffine();
  return { x, y };
}

/** True iff the affine point is a valid, finite Grumpkin point. */
export function isStatePublicKey(key: StatePublicKey): boolean {
  try {
    point(key, 'key');
    return true;
  } catch {
    return false;
  }
}

/** The Schnorr challenge `H(R.x, R.y, m)`, a BN254 scalar-field element (below the Grumpkin order). */
function challenge(rx: bigint, ry: bigint, message: bigint): bigint {
  return poseidon2Hash([rx, ry, message]);
}

/**
 * Signs the field element `message`. The nonce is hedged: SHA-512 of the key, the message and 32 fresh
 * random bytes, so a broken RNG still never repeats a nonce for two messages (which would leak sk).
 * `entropy` replaces the random bytes for reproducible test vectors only.
 */
export function signState(sk: bigint, message: bigint, entropy: Uint8Array = globalThis.crypto.getRandomValues(new Uint8Array(32))): StateSignature {
  assertSecret(sk);
  if (entropy.length !== 32) throw new ZkCreditsError('invalid_request', 'signing entropy must be 32 bytes');
  const skBytes = new Uint8Array(32);
  let v = sk;
  for (let i = 31; i >= 0; i--, v >>= 8n) skBytes[i] = Number(v & 0xffn);
  const seed = new Uint8Array(96);
  seed.set(skBytes, 0);
  seed.set(fieldToBytes(message), 32);
  seed.set(entropy, 64);
  const nonce = scalarFrom(sha512(seed));
  const { x: rx, y: ry } = Grumpkin.BASE.multiply(nonce).toAffine();
  const e = challenge(rx, ry, message);
  const s = (nonce + e * sk) % GRUMPKIN_ORDER;
  return { rx, ry, s };
}

/** True iff `signature` is a valid signature of `message` under `key`. Never throws on bad input. */
export function verifyStateSignature(key: StatePublicKey, message: bigint, signature: StateSignature): boolean {
  try {
    const pk = point(key, 'key');
    const { rx, ry, s } = signature;
    if (s < 0n || s >= GRUMPKIN_ORDER || message < 0n || message >= FIELD_MODULUS) return false;
    const r = point({ x: rx, y: ry }, 'R');
    const e = challenge(rx, ry, message);
    // s·G − e·PK, with multiplyUnsafe tolerating zero scalars (public values: no timing concern).
    const sG = s === 0n ? Grumpkin.ZERO : Grumpkin.BASE.multiplyUnsafe(s);
    const ePK = e === 0n ? Grumpkin.ZERO : pk.multiplyUnsafe(e);
    return sG.subtract(ePK).equals(r);
  } catch {
    return false;
  }
}

/** Splits `s` into the circuit's 128-bit limbs `(lo, hi)`. */
export function signatureLimbs(s: bigint): { lo: bigint; hi: bigint } {
  return { lo: s & ((1n << 128n) - 1n), hi: s >> 128n };
}
