import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  E2eeError,
  createE2eeSession,
  decryptField,
  encryptField,
  fetchAttestation,
  generateKeyPair,
  parseQuote,
  simulateCompletion,
  verifyAttestation,
  type VeniceSim,
} from '../src/index.js';
import { API_KEY, chat, sseData, useSim } from './helpers.js';

const MODEL = 'e2ee-qwen3-5-122b-a10b';
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'secret plans for tuesday' },
];

const session = (sim: VeniceSim) =>
  createE2eeSession({ baseUrl: sim.apiBaseUrl, apiKey: API_KEY, model: MODEL, trustedAuthorityKeys: [sim.authorityPublicKeyHex] });

describe('E2EE field codec', () => {
  it('round-trips and rejects a flipped ciphertext bit with DECRYPT_FAILED', () => {
    const kp = generateKeyPair();
    const packed = encryptField('héllo wörld', kp.publicKeyHex);
    expect(packed).toMatch(/^04[0-9a-f]+$/);
    expect(packed.length).toBe((65 + 12 + Buffer.byteLength('héllo wörld') + 16) * 2);
    expect(decryptField(packed, kp.secretKey)).toBe('héllo wörld');
    const tampered = packed.slice(0, -2) + (packed.slice(-2) === '00' ? '01' : '00');
    expect(() => decryptField(tampered, kp.secretKey)).toThrow(expect.objectContaining({ code: 'DECRYPT_FAILED' }));
    expect(() => decryptField(packed, generateKeyPair().secretKey)).toThrow(E2eeError);
    expect(() => decryptField('abc', kp.secretKey)).toThrow(expect.objectContaining({ code: 'INVALID_CIPHERTEXT' }));
  });
});

describe('GET /tee/attestation', () => {
  const sim = useSim();

  it('returns the enclave key bound to the nonce in a signed TDX-shaped quote', async () => {
    const nonce = bytesToHex(randomBytes(32));
    const { response } = await fetchAttestation({ baseUrl: sim().apiBaseUrl, model: MODEL, apiKey: API_KEY, nonce });
    expect(response).toMatchObject({ verified: true, nonce, model: MODEL, signing_key: sim().enclavePublicKeyHex(MODEL) });
    expect(response.signing_address).toMatch(/^0x[0-9a-f]{40}$/);
    const quote = parseQuote(new Uint8Array(Buffer.from(response.intel_quote!, 'base64')));
    expect(quote).toMatchObject({ teeType: 0x81, debug: false, signatureValid: true, attestationKeyHex: sim().authorityPublicKeyHex });
    expect(bytesToHex(quote.reportData.subarray(32))).toBe(nonce);
    const verified = verifyAttestation(response, { nonce, model: MODEL, trustedAuthorityKeys: [sim().authorityPublicKeyHex] });
    expect(verified.modelPublicKeyHex).toBe(sim().enclavePublicKeyHex(MODEL));
  });

  it('rejects a short nonce, an unknown model (404) and a non-TEE model (400)', async () => {
    const base = sim().apiBaseUrl;
    expect((await fetch(`${base}/tee/attestation?model=${MODEL}&nonce=abcd`)).status).toBe(400);
    expect((await fetch(`${base}/tee/attestation?model=nope`)).status).toBe(404);
    expect((await fetch(`${base}/tee/attestation?model=venice-uncensored`)).status).toBe(400);
  });

  it('client refuses a replayed attestation, a quote from an untrusted authority, and a swapped key', async () => {
    const nonce = bytesToHex(randomBytes(32));
    const { response } = await fetchAttestation({ baseUrl: sim().apiBaseUrl, model: MODEL, nonce });
    const trusted = [sim().authorityPublicKeyHex];
    const other = bytesToHex(randomBytes(32));
    expect(() => verifyAttestation(response, { nonce: other, model: MODEL, trustedAuthorityKeys: trusted })).toThrow(
      expect.objectContaining({ code: 'ATTESTATION_NONCE_MISMATCH' }),
    );
    expect(() => verifyAttestation(response, { nonce, model: MODEL, trustedAuthorityKeys: ['04' + 'ab'.repeat(64)] })).toThrow(
      expect.objectContaining({ code: 'ATTESTATION_UNTRUSTED_AUTHORITY' }),
    );
    const swapped = { ...response, signing_key: generateKeyPair().publicKeyHex };
    expect(() => verifyAttestation(swapped, { nonce, model: MODEL, trustedAuthorityKeys: trusted })).toThrow(
      expect.objectContaining({ code: 'ATTESTATION_KEY_NOT_BOUND' }),
    );
    const forged = Buffer.from(response.intel_quote!, 'base64');
    forged[48 + 520 + 40]! ^= 1; // flip a REPORTDATA bit: the quote signature no longer holds
    expect(() => verifyAttestation({ ...response, intel_quote: forged.toString('base64') }, { nonce, model: MODEL, trustedAuthorityKeys: trusted })).toThrow(
      expect.objectContaining({ code: 'ATTESTATION_QUOTE_SIGNATURE_INVALID' }),
    );
  });
});

describe('E2EE chat completions', () => {
  const sim = useSim();

  it('decrypts the request inside the enclave and streams a reply only the client can read', async () => {
    const s = await session(sim());
    const encrypted = s.encryptMessages(messages);
    const res = await chat(sim(), { model: MODEL, messages: encrypted, stream: true, stream_options: { include_usage: true } }, s.headers());
    expect(res.status).toBe(200);
    let text = '';
    let usage;
    for await (const c of s.decryptSseStream(res.body!)) {
      text += c.content;
      usage = c.usage ?? usage;
    }
    const expected = simulateCompletion(messages, 16384);
    expect(text).toBe(expected.content);
    expect(text).toMatch(/ secret plans for tuesday$/);
    expect(usage).toMatchObject({ prompt_tokens: expected.promptTokens, completion_tokens: expected.completionTokens });

    const rec = sim().state.lastRequest!;
    expect(rec).toMatchObject({ e2ee: true, encryptedFields: 2, stream: true, status: 200 });
    expect(JSON.stringify(rec.body)).not.toContain('tuesday');
    expect(rec.headers['x-venice-tee-client-pub-key']).toBe(s.clientPublicKeyHex);
  });

  it('streams only ciphertext content deltas on the wire', async () => {
    const s = await session(sim());
    const res = await chat(sim(), { model: MODEL, messages: s.encryptMessages(messages), stream: true }, s.headers());
    const chunks = (await sseData(res)).slice(0, -1).map((d) => JSON.parse(d));
    const contents = chunks.map((c) => c.choices[0].delta.content).filter(Boolean);
    expect(contents.length).toBe(simulateCompletion(messages, 16384).pieces.length);
    for (const c of contents) expect(c).toMatch(/^04[0-9a-f]{184,}$/);
    expect(chunks.map((c) => JSON.stringify(c)).join('')).not.toContain('tuesday');
  });

  it('rejects tampered request ciphertext with 400 "Failed to decrypt field"', async () => {
    const s = await session(sim());
    const [sys, user] = s.encryptMessages(messages);
    const c = user!.content;
    const bad = { ...user!, content: c.slice(0, 200) + (c[200] === 'a' ? 'b' : 'a') + c.slice(201) };
    const res = await chat(sim(), { model: MODEL, messages: [sys, bad], stream: true }, s.headers());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'Failed to decrypt field' });
  });

  it('rejects plaintext user content under E2EE headers with 400 "Encrypted field is not valid hex"', async () => {
    const s = await session(sim());
    const res = await chat(sim(), { model: MODEL, messages, stream: true }, s.headers());
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'Encrypted field is not valid hex' });
  });

  it('requires streaming, a matching model key, a valid client key, and an E2EE model', async () => {
    const s = await session(sim());
    const enc = s.encryptMessages(messages);
    const nonStream = await chat(sim(), { model: MODEL, messages: enc }, s.headers());
    expect(await nonStream.json()).toEqual({ error: 'E2EE requires streaming' });
    const wrongModelKey = await chat(sim(), { model: MODEL, messages: enc, stream: true }, { ...s.headers(), 'X-Venice-TEE-Model-Pub-Key': generateKeyPair().publicKeyHex });
    expect(wrongModelKey.status).toBe(400);
    const badClientKey = await chat(sim(), { model: MODEL, messages: enc, stream: true }, { ...s.headers(), 'X-Venice-TEE-Client-Pub-Key': '04abcd' });
    expect(await badClientKey.json()).toEqual({ error: 'Invalid public key' });
    const plainModel = await chat(sim(), { model: 'venice-uncensored', messages: enc, stream: true }, s.headers());
    expect(plainModel.status).toBe(400);
  });

  it('client fails closed on plaintext or a cut stream', async () => {
    const s = await session(sim());
    expect(() => s.decryptContent('hello')).toThrow(expect.objectContaining({ code: 'STREAM_INVALID' }));
    const res = await chat(sim(), { model: MODEL, messages: s.encryptMessages(messages), stream: true }, { ...s.headers(), 'x-sim-fault': 'break-after:3' });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of s.decryptSseStream(res.body!)) got.push(c.content);
      })(),
    ).rejects.toThrow();
    expect(got.length).toBeLessThanOrEqual(3);
  });

  it('serves an E2EE model without E2EE headers as a plain TEE request', async () => {
    const res = await chat(sim(), { model: MODEL, messages });
    expect(res.status).toBe(200);
    expect((await res.json()).choices[0].message.content).toBe(simulateCompletion(messages, 16384).content);
    expect(sim().state.lastRequest?.e2ee).toBe(false);
  });
});

describe('debug enclave', () => {
  const sim = useSim({ apiKey: API_KEY, debugEnclave: true });

  it('client refuses an attestation from a debug TD', async () => {
    const nonce = bytesToHex(randomBytes(32));
    const { response } = await fetchAttestation({ baseUrl: sim().apiBaseUrl, model: MODEL, nonce });
    expect(() =>
      verifyAttestation({ ...response, verified: true }, { nonce, model: MODEL, trustedAuthorityKeys: [sim().authorityPublicKeyHex] }),
    ).toThrow(expect.objectContaining({ code: 'ATTESTATION_DEBUG_ENCLAVE' }));
    await expect(session(sim())).rejects.toThrow(expect.objectContaining({ code: 'ATTESTATION_INVALID' }));
  });
});
