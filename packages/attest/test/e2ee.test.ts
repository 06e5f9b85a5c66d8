// The E2EE codec and session (moved from venice-sim): round trips, tamper and wrong-key refusal,
// fail-closed streams. Errors are matched by code (isZkCreditsError), never by class.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { describe, expect, it } from 'vitest';
import {
  E2EE_HEADER_NAMES,
  createE2eeSession,
  decryptField,
  encryptField,
  ethereumAddress,
  generateKeyPair,
  keyPairFromSecret,
  looksEncrypted,
  parsePublicKey,
} from '../src/e2ee/index.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return isZkCreditsError(e) ? e.code : `not a ZkCreditsError: ${String(e)}`;
  }
  return undefined;
};

function sse(events: unknown[], done = true): AsyncIterable<Uint8Array> {
  const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + (done ? 'data: [DONE]\n\n' : '');
  const bytes = new TextEncoder().encode(text);
  return (async function* () {
    for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7); // split mid-line on purpose
  })();
}

describe('E2EE field codec', () => {
  it('round-trips UTF-8 and packs ephemeral key ‖ nonce ‖ ciphertext ‖ tag as lowercase hex', () => {
    const kp = generateKeyPair();
    const packed = encryptField('héllo wörld', kp.publicKeyHex);
    expect(packed).toMatch(/^04[0-9a-f]+$/);
    expect(packed.length).toBe((65 + 12 + Buffer.byteLength('héllo wörld') + 16) * 2);
    expect(looksEncrypted(packed)).toBe(true);
    expect(decryptField(packed, kp.secretKey)).toBe('héllo wörld');
  });

  it('refuses a flipped ciphertext bit and another recipient with decrypt_failed, a short field with invalid_ciphertext', () => {
    const kp = generateKeyPair();
    const packed = encryptField('secret', kp.publicKeyHex);
    const tampered = packed.slice(0, -2) + (packed.slice(-2) === '00' ? '01' : '00');
    expect(code(() => decryptField(tampered, kp.secretKey))).toBe('decrypt_failed');
    expect(code(() => decryptField(packed, generateKeyPair().secretKey))).toBe('decrypt_failed');
    expect(code(() => decryptField('abc', kp.secretKey))).toBe('invalid_ciphertext');
  });

  it('parses keys with and without the 04 prefix, and refuses off-curve or short keys with invalid_public_key', () => {
    const kp = generateKeyPair();
    expect(parsePublicKey(kp.publicKeyHex.slice(2))).toEqual(parsePublicKey(kp.publicKeyHex));
    expect(code(() => parsePublicKey('04' + 'ab'.repeat(64)))).toBe('invalid_public_key');
    expect(code(() => parsePublicKey('04abcd'))).toBe('invalid_public_key');
    expect(keyPairFromSecret(kp.secretKey).publicKeyHex).toBe(kp.publicKeyHex);
  });

  it('derives the Ethereum address of a key (keccak-256 of x ‖ y, last 20 bytes)', () => {
    // secret key 1 → the generator point; its address is well known
    const one = new Uint8Array(32);
    one[31] = 1;
    expect(ethereumAddress(keyPairFromSecret(one).publicKeyHex)).toBe('0x7e5f4552091a69125d5dfcb7b8c2659029395bdf');
  });
});

describe('E2EE session', () => {
  it('sends the three Venice headers and encrypts every text message to the model key', () => {
    const model = generateKeyPair();
    const s = createE2eeSession(model.publicKeyHex);
    expect(s.headers()).toEqual({
      [E2EE_HEADER_NAMES.clientPublicKey]: s.clientPublicKeyHex,
      [E2EE_HEADER_NAMES.modelPublicKey]: model.publicKeyHex,
      [E2EE_HEADER_NAMES.signingAlgo]: 'ecdsa',
    });
    const [sys, user] = s.encryptMessages([
      { role: 'system', content: 'be terse' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    ]);
    expect(decryptField(sys!.content as string, model.secretKey)).toBe('be terse');
    expect(decryptField(user!.content as string, model.secretKey)).toBe('a\nb');
    expect(code(() => s.encryptMessages([{ role: 'user', content: [{ type: 'image_url', image_url: 'x' }] }]))).toBe('invalid_ciphertext');
  });

  it('decrypts each streamed delta and fails closed on plaintext, a cut stream, and after destroy()', async () => {
    const s = createE2eeSession(generateKeyPair().publicKeyHex);
    const toClient = (t: string) => encryptField(t, s.clientPublicKeyHex);
    const got: string[] = [];
    for await (const c of s.decryptSseStream(sse([{ choices: [{ delta: { content: toClient('hel') } }] }, { choices: [{ delta: { content: toClient('lo') }, finish_reason: 'stop' }] }]))) {
      got.push(c.content);
    }
    expect(got.join('')).toBe('hello');

    expect(code(() => s.decryptContent('plain text'))).toBe('stream_invalid');
    await expect(
      (async () => {
        for await (const _ of s.decryptSseStream(sse([{ choices: [{ delta: { content: toClient('x') } }] }], false)));
      })(),
    ).rejects.toSatisfy((e: unknown) => isZkCreditsError(e, 'stream_invalid'));

    s.destroy();
    expect(code(() => s.decryptContent(toClient('late')))).toBe('session_closed');
  });
});
