// protocol/e2ee-vectors.json is written by our codec (scripts/gen-e2ee-vectors.ts); here every
// vector is recomputed with a second implementation, Node's own crypto (OpenSSL: ECDH on
// secp256k1, HKDF-SHA256, AES-256-GCM), and opened again with the codec.
import { createCipheriv, createECDH, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decryptField } from '../src/e2ee/index.js';

type Vector = { recipientSecretKey: string; recipientPublicKey: string; ephemeralSecretKey: string; nonce: string; plaintext: string; packed: string };
const { fields } = JSON.parse(readFileSync(new URL('../../../protocol/e2ee-vectors.json', import.meta.url), 'utf8')) as { fields: Vector[] };

function packWithOpenSsl(v: Vector): string {
  const ephemeral = createECDH('secp256k1');
  ephemeral.setPrivateKey(Buffer.from(v.ephemeralSecretKey, 'hex'));
  const x = ephemeral.computeSecret(Buffer.from(v.recipientPublicKey, 'hex')); // x-coordinate of the shared point
  const key = Buffer.from(hkdfSync('sha256', x, Buffer.alloc(0), 'ecdsa_encryption', 32));
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(v.nonce, 'hex'));
  const sealed = Buffer.concat([cipher.update(v.plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return ephemeral.getPublicKey('hex', 'uncompressed') + v.nonce + sealed.toString('hex');
}

describe('E2EE vectors', () => {
  it('has vectors, including an empty and a multi-block plaintext', () => {
    expect(fields.length).toBeGreaterThanOrEqual(4);
    expect(fields.some((v) => v.plaintext === '')).toBe(true);
    expect(fields.some((v) => Buffer.byteLength(v.plaintext) > 64)).toBe(true);
  });

  it.each(fields.map((v, i) => [i, v] as const))('vector %i: an independent implementation packs the same bytes', (_i, v) => {
    expect(packWithOpenSsl(v)).toBe(v.packed);
  });

  it.each(fields.map((v, i) => [i, v] as const))('vector %i: the codec opens it with the recipient key', (_i, v) => {
    expect(decryptField(v.packed, Uint8Array.from(Buffer.from(v.recipientSecretKey, 'hex')))).toBe(v.plaintext);
  });
});
