import { generateCredential } from '../credential.js';
import { toFieldHex, type FieldHex } from '../field.js';

/**
 * A fresh credential as the vault stores it: nullifier and secret, 31 random bytes each from the
 * platform CSPRNG, non-zero, as 0x + 64 lower-case hex digits (core's `generateCredential`).
 */
export function generateSecrets(): { nullifier: FieldHex; secret: FieldHex } {
  const { nullifier, secret } = generateCredential();
  return { nullifier: toFieldHex(nullifier), secret: toFieldHex(secret) };
}
