/**
 * At-rest encryption of the credential vault with Web Crypto only:
 * PBKDF2-SHA256 (600,000 iterations, 16-byte random salt) → AES-256-GCM key (non-extractable),
 * each record sealed with a fresh 12-byte IV and bound to its identity by associated data.
 */
import { base64 } from '@scure/base';
import { AppError } from '../errors';

export const KDF_ITERATIONS = 600_000;
/** Iteration bounds accepted from a backup file (a tampered file must not hang the tab or weaken the KDF). */
export const KDF_MIN_ITERATIONS = 100_000;
export const KDF_MAX_ITERATIONS = 10_000_000;

export type KdfParams = { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number; salt: string };
export type Sealed = { iv: string; ct: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBase64(bytes: Uint8Array): string {
  return base64.encode(bytes);
}

/** Strict RFC 4648 base64 (padding required); throws on anything else. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(base64.decode(text));
}

export function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

export function newKdfParams(): KdfParams {
  return { name: 'PBKDF2', hash: 'SHA-256', iterations: KDF_ITERATIONS, salt: toBase64(randomBytes(16)) };
}

/** Derives the vault key from a passphrase. Slow on purpose (hundreds of ms). */
export async function deriveKey(passphrase: string, kdf: KdfParams): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: fromBase64(kdf.salt), iterations: kdf.iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

/** Encrypts a JSON value; `aad` binds the ciphertext to where it is stored. */
export async function seal(key: CryptoKey, aad: string, value: unknown): Promise<Sealed> {
  const iv = randomBytes(12);
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
    key,
    encoder.encode(JSON.stringify(value)),
  );
  return { iv: toBase64(iv), ct: toBase64(new Uint8Array(ct)) };
}

/** Decrypts and parses; fails with `wrong_passphrase` when the key or the data is wrong. */
export async function open(key: CryptoKey, aad: string, sealed: Sealed): Promise<unknown> {
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(sealed.iv), additionalData: encoder.encode(aad) },
      key,
      fromBase64(sealed.ct),
    );
  } catch (cause) {
    throw new AppError('wrong_passphrase', 'The passphrase is wrong or the data is damaged.', { cause });
  }
  return JSON.parse(decoder.decode(plain));
}
