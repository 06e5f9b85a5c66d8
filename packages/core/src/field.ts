import { FIELD_MODULUS } from './generated/constants.js';
import { FieldError } from './errors.js';

/** A field element as it crosses a boundary: `0x` + exactly 64 hex digits, value < p. */
export type FieldHex = `0x${string}`;

const CANONICAL = /^0x[0-9a-fA-F]{64}$/;

/**
 * Parses an untrusted value as a BN254 scalar field element. Exactly one encoding is
 * accepted: a string `0x` + 64 hex digits whose value is below the field modulus.
 *
 * @example parseField('0x' + '00'.repeat(31) + '2a', 'root') // 42n
 * @throws {FieldError} code `invalid_field` for anything else.
 */
export function parseField(value: unknown, name = 'value'): bigint {
  if (typeof value !== 'string' || !CANONICAL.test(value)) {
    throw new FieldError(`${name} is not a canonical field element`, {
      details: `expected "0x" followed by exactly 64 hex digits, got ${describe(value)}`,
      param: name,
    });
  }
  const x = BigInt(value);
  if (x >= FIELD_MODULUS) {
    throw new FieldError(`${name} is not below the field modulus`, {
      details: `expected a value < 0x${FIELD_MODULUS.toString(16)}`,
      param: name,
    });
  }
  return x;
}

/** Checks that a bigint is a field element (0 ≤ x < p) and returns it. */
export function assertField(x: bigint, name = 'value'): bigint {
  if (typeof x !== 'bigint' || x < 0n || x >= FIELD_MODULUS) {
    throw new FieldError(`${name} is not a field element`, { details: `expected 0 ≤ x < p`, param: name });
  }
  return x;
}

/** Canonical encoding of a field element: `0x` + 64 lower-case hex digits. */
export function toFieldHex(x: bigint): FieldHex {
  assertField(x);
  return `0x${x.toString(16).padStart(64, '0')}`;
}

/** 32-byte big-endian encoding. */
export function fieldToBytes(x: bigint): Uint8Array {
  assertField(x);
  const out = new Uint8Array(32);
  let v = x;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** Reads a big-endian byte string as an integer (no range check). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** Parses a 32-byte big-endian field element, rejecting values ≥ p. */
export function fieldFromBytes(bytes: Uint8Array, name = 'value'): bigint {
  if (bytes.length !== 32) {
    throw new FieldError(`${name} must be 32 bytes`, { details: `got ${bytes.length} bytes`, param: name });
  }
  const x = bytesToBigInt(bytes);
  if (x >= FIELD_MODULUS) throw new FieldError(`${name} is not below the field modulus`, { param: name });
  return x;
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 80 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  return value === null ? 'null' : typeof value;
}
