import { bech32m } from '@scure/base';
import { CredentialError } from './errors.js';
import { bytesToBigInt } from './field.js';
import { hashLeaf, hashNullifier } from './hashes.js';

/** A spendable credit: two secret field elements. Whoever holds them can spend the credit. */
export type Credential = { nullifier: bigint; secret: bigint };

/** Human-readable prefix of the encoded form ("API key"). */
export const CREDENTIAL_PREFIX = 'zkc';
const CREDENTIAL_VERSION = 1;
const SECRET_BYTES = 31; // 248 bits: uniform, always < p, no modular bias
const ENCODED_LIMIT = 200;

function randomElement(): bigint {
  for (;;) {
    const bytes = new Uint8Array(SECRET_BYTES);
    globalThis.crypto.getRandomValues(bytes);
    const x = bytesToBigInt(bytes);
    if (x !== 0n) return x;
  }
}

/** Draws a fresh credential from the platform CSPRNG (Web Crypto in browsers and Node). */
export function generateCredential(): Credential {
  return { nullifier: randomElement(), secret: randomElement() };
}

/** The leaf commitment the contract stores for this credential. */
export function credentialCommitment(credential: Credential): bigint {
  return hashLeaf(credential.nullifier, credential.secret);
}

/** The public nullifier hash revealed when the credential is spent. */
export function credentialNullifierHash(credential: Credential): bigint {
  return hashNullifier(credential.nullifier);
}

function toBytes31(x: bigint, name: string): Uint8Array {
  if (x <= 0n || x >= 1n << 248n) {
    throw new CredentialError(`${name} is out of range`, { details: 'expected 0 < x < 2^248' });
  }
  const out = new Uint8Array(SECRET_BYTES);
  let v = x;
  for (let i = SECRET_BYTES - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Compact, checksummed text form (bech32m, prefix `zkc`), usable as an API key:
 * version byte ‖ nullifier (31 bytes) ‖ secret (31 bytes).
 */
export function encodeCredential(credential: Credential): string {
  const bytes = new Uint8Array(1 + 2 * SECRET_BYTES);
  bytes[0] = CREDENTIAL_VERSION;
  bytes.set(toBytes31(credential.nullifier, 'nullifier'), 1);
  bytes.set(toBytes31(credential.secret, 'secret'), 1 + SECRET_BYTES);
  return bech32m.encode(CREDENTIAL_PREFIX, bech32m.toWords(bytes), ENCODED_LIMIT);
}

/** Parses the text form; a typo, a wrong prefix or a wrong version fails with a clear error. */
export function decodeCredential(text: unknown): Credential {
  if (typeof text !== 'string' || text.length > ENCODED_LIMIT) {
    throw new CredentialError('credential must be a zkc1… string', {
      details: typeof text === 'string' ? `got ${text.length} characters` : `got ${typeof text}`,
    });
  }
  let prefix: string;
  let bytes: Uint8Array;
  try {
    const decoded = bech32m.decode(text.trim() as `${string}1${string}`, ENCODED_LIMIT);
    prefix = decoded.prefix;
    bytes = bech32m.fromWords(decoded.words);
  } catch (cause) {
    throw new CredentialError('credential is malformed or mistyped (checksum failed)', { cause });
  }
  if (prefix !== CREDENTIAL_PREFIX) {
    throw new CredentialError('not a zkcredits credential', {
      details: `expected prefix "${CREDENTIAL_PREFIX}", got "${prefix}"`,
    });
  }
  if (bytes.length !== 1 + 2 * SECRET_BYTES || bytes[0] !== CREDENTIAL_VERSION) {
    throw new CredentialError('unsupported credential version or length', {
      details: `expected version ${CREDENTIAL_VERSION} and ${1 + 2 * SECRET_BYTES} bytes`,
    });
  }
  const nullifier = bytesToBigInt(bytes.subarray(1, 1 + SECRET_BYTES));
  const secret = bytesToBigInt(bytes.subarray(1 + SECRET_BYTES));
  if (nullifier === 0n || secret === 0n) throw new CredentialError('credential has a zero component');
  return { nullifier, secret };
}
