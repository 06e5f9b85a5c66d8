/**
 * At-rest encryption of the credential vault with Web Crypto only (browsers and Node 20's
 * `globalThis.crypto`): PBKDF2-SHA256 (600,000 iterations, 16-byte random salt) → AES-256-GCM
 * key (non-extractable), each value sealed with a fresh 12-byte IV and bound to where it is
 * stored by associated data. Byte-compatible with the vaults the web app has always written.
 */
import { base64 } from '@scure/base';

export const KDF_ITERATIONS = 600_000;
/** Iteration bounds accepted from a stored vault or a backup file (a tampered file must not hang the process or weaken the KDF). */
export const KDF_MIN_ITERATIONS = 100_000;
export const KDF_MAX_ITERATIONS = 10_000_000;

/** How the vault key is derived from the passphrase; stored in the clear next to the ciphertexts. */
export type KdfParams = { name: 'PBKDF2'; hash: 'SHA-256'; iterations: number; salt: string };
/** One AES-256-GCM ciphertext: base64 IV and base64 ciphertext with its 16-byte tag. */
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
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** A random 128-bit id in lower-case hex (vaults, credits, purchase batches). */
export function newId(): string {
  return Array.from(randomBytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function newKdfParams(): KdfParams {
  return { name: 'PBKDF2', hash: 'SHA-256', iterations: KDF_ITERATIONS, salt: toBase64(randomBytes(16)) };
}

/** Derives the vault key from a passphrase (NFC-normalized). Slow on purpose (hundreds of ms). */
export async function deriveKey(passphrase: string, kdf: KdfParams): Promise<CryptoKey> {
  const subtle = globalThis.crypto.subtle;
  const material = await subtle.importKey('raw', encoder.encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey(
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
  const ct = await globalThis.crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
    key,
    encoder.encode(JSON.stringify(value)),
  );
  return { iv: toBase64(iv), ct: toBase64(new Uint8Array(ct)) };
}

/**
 * Decrypts and parses a sealed JSON value. Returns undefined when it does not authenticate
 * (wrong key, other `aad`, damaged data) or is not JSON: the caller says which of these it means.
 */
export async function open(key: CryptoKey, aad: string, sealed: Sealed): Promise<{ value: unknown } | undefined> {
  try {
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64(sealed.iv), additionalData: encoder.encode(aad) },
      key,
      fromBase64(sealed.ct),
    );
    return { value: JSON.parse(decoder.decode(plain)) as unknown };
  } catch {
    return undefined;
  }
}

/** Associated data of the vault's check value: binds it to the vault id. */
export const checkAad = (vault: string): string => `zkcredits/v1/check/${vault}`;
/** Associated data of one credit: binds its ciphertext to the vault and the credit id. */
export const creditAad = (vault: string, id: string): string => `zkcredits/v1/credit/${vault}/${id}`;
/** Associated data of the vault's master secret (protocol v2 accounts): binds it to the vault id. */
export const masterAad = (vault: string): string => `zkcredits/v2/master/${vault}`;
/** Associated data of one v2 account record: binds its ciphertext to the vault and the record id. */
export const accountAad = (vault: string, id: string): string => `zkcredits/v2/account/${vault}/${id}`;
