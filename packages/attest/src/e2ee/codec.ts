/**
 * Venice E2EE field codec (both directions use the same construction):
 *
 *   packed = ephemeral_pub (65 B, uncompressed secp256k1)
 *         || nonce (12 B)
 *         || AES-256-GCM(ciphertext || tag(16 B))
 *   key    = HKDF-SHA256(ikm = x-coordinate of ECDH(ephemeral, recipient),
 *                        salt = none, info = "ecdsa_encryption", L = 32)
 *
 * The packed bytes travel as lowercase hex in `messages[].content` (requests)
 * and in `choices[0].delta.content` (streamed responses).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { AttestError } from '../errors.js';

export const HKDF_INFO = 'ecdsa_encryption';
const HKDF_INFO_BYTES = new TextEncoder().encode(HKDF_INFO);
export const PUBLIC_KEY_LEN = 65;
export const NONCE_LEN = 12;
export const TAG_LEN = 16;
/** Smallest packed payload: key + nonce + tag (empty plaintext) = 93 bytes = 186 hex chars. */
export const MIN_PACKED_HEX_LEN = (PUBLIC_KEY_LEN + NONCE_LEN + TAG_LEN) * 2;

const HEX_RE = /^[0-9a-fA-F]+$/;

export interface KeyPair {
  secretKey: Uint8Array;
  /** Uncompressed public key, 130 lowercase hex chars starting with `04`. */
  publicKeyHex: string;
}

export function generateKeyPair(): KeyPair {
  const secretKey = secp256k1.utils.randomSecretKey();
  return { secretKey, publicKeyHex: bytesToHex(secp256k1.getPublicKey(secretKey, false)) };
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  return { secretKey, publicKeyHex: bytesToHex(secp256k1.getPublicKey(secretKey, false)) };
}

/**
 * Parses an uncompressed secp256k1 public key given as hex (130 chars with `04`,
 * or 128 chars without it, as Venice documents both). Throws `invalid_public_key`.
 */
export function parsePublicKey(hex: string): Uint8Array {
  let h = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (h.length === 128 && HEX_RE.test(h)) h = `04${h}`;
  if (h.length !== 130 || !h.startsWith('04') || !HEX_RE.test(h)) {
    throw new AttestError('invalid_public_key', 'Invalid public key.', {
      details: `expected 130 hex chars starting with '04' (uncompressed secp256k1), got ${h.length} chars`,
    });
  }
  const bytes = hexToBytes(h.toLowerCase());
  try {
    secp256k1.Point.fromBytes(bytes).assertValidity();
  } catch (cause) {
    throw new AttestError('invalid_public_key', 'Invalid public key.', { details: 'point is not on secp256k1', cause });
  }
  return bytes;
}

/** True when `s` has the shape of a packed payload (hex, >= 186 chars, even length). */
export function looksEncrypted(s: string): boolean {
  return s.length >= MIN_PACKED_HEX_LEN && s.length % 2 === 0 && HEX_RE.test(s);
}

function deriveKey(secretKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
  const shared = secp256k1.getSharedSecret(secretKey, peerPublicKey, true); // 33 B compressed point
  return hkdf(sha256, shared.slice(1), undefined, HKDF_INFO_BYTES, 32);
}

/**
 * Encrypts `plaintext` to `recipientPublicKeyHex` with a fresh ephemeral key and nonce.
 * `ephemeral` and `nonce` exist for test vectors (protocol/e2ee-vectors.json): a fixed pair
 * must never encrypt two messages.
 */
export function encryptField(plaintext: string, recipientPublicKeyHex: string, ephemeral?: KeyPair, nonce?: Uint8Array): string {
  const recipient = parsePublicKey(recipientPublicKeyHex);
  const eph = ephemeral ?? generateKeyPair();
  const key = deriveKey(eph.secretKey, recipient);
  if (nonce !== undefined && nonce.length !== NONCE_LEN) {
    throw new AttestError('invalid_ciphertext', 'An AES-GCM nonce is 12 bytes.', { details: `got ${nonce.length} bytes` });
  }
  nonce ??= randomBytes(NONCE_LEN);
  const sealed = gcm(key, nonce).encrypt(new TextEncoder().encode(plaintext));
  return eph.publicKeyHex + bytesToHex(nonce) + bytesToHex(sealed);
}

/**
 * Decrypts a packed hex payload with the recipient's secret key.
 * Throws `invalid_ciphertext` (bad shape) or `decrypt_failed` (tag mismatch: tampered or wrong key).
 */
export function decryptField(packedHex: string, recipientSecretKey: Uint8Array): string {
  if (!looksEncrypted(packedHex)) {
    throw new AttestError('invalid_ciphertext', 'Encrypted field is not valid hex.', {
      details: `expected >= ${MIN_PACKED_HEX_LEN} hex chars (ephemeral key + nonce + tag), got ${packedHex.length} chars`,
    });
  }
  const raw = hexToBytes(packedHex.toLowerCase());
  const ephemeral = parsePublicKey(bytesToHex(raw.subarray(0, PUBLIC_KEY_LEN)));
  const nonce = raw.subarray(PUBLIC_KEY_LEN, PUBLIC_KEY_LEN + NONCE_LEN);
  const sealed = raw.subarray(PUBLIC_KEY_LEN + NONCE_LEN);
  let plain: Uint8Array;
  try {
    plain = gcm(deriveKey(recipientSecretKey, ephemeral), nonce).decrypt(sealed);
  } catch (cause) {
    throw new AttestError('decrypt_failed', 'Failed to decrypt field.', {
      details: 'AES-GCM authentication failed: the ciphertext was modified or encrypted to another key',
      cause,
    });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch (cause) {
    throw new AttestError('decrypt_failed', 'Failed to decrypt field.', { details: 'plaintext is not UTF-8', cause });
  }
}

/** Ethereum address (0x + 40 lowercase hex) of an uncompressed secp256k1 public key. */
export function ethereumAddress(publicKeyHex: string): string {
  const pub = parsePublicKey(publicKeyHex);
  return `0x${bytesToHex(keccak_256(pub.subarray(1)).subarray(12))}`;
}
