// E2EE against the sim as a client does it: fetch the attestation with a fresh nonce, verify it
// with @zkcredits/attest at level dcap (trusting the sim's test root, never Intel's), then encrypt
// to the attested key. The codec itself is tested in packages/attest/test/e2ee.test.ts.
import { isZkCreditsError } from '@zkcredits/core/errors';
import { describe, expect, it } from 'vitest';
import {
  assertAttested,
  createE2eeSession,
  ethereumAddress,
  fetchAttestation,
  generateKeyPair,
  verifyAttestation,
  type AttestationReport,
} from '@zkcredits/attest';
import { verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import { simulateCompletion, type VeniceSim } from '../src/index.js';
import { attestSim, simCollateral, SIM_E2EE_MODEL as MODEL } from './attest-client.js';
import { API_KEY, chat, sseData, useSim } from './helpers.js';
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'secret plans for tuesday' },
];

const session = async (sim: VeniceSim) => createE2eeSession(assertAttested(await attestSim(sim)));
const failedChecks = (r: AttestationReport) => r.checks.filter((c) => c.status === 'fail').map((c) => c.name);

describe('client verification of the sim\'s attestation', () => {
  const sim = useSim();

  it('verifies at level dcap and yields the enclave key of the model', async () => {
    const report = await attestSim(sim());
    expect(failedChecks(report)).toEqual([]);
    expect(report).toMatchObject({ ok: true, achieved: 'dcap', tcbStatus: 'UpToDate', modelPublicKeyHex: sim().enclavePublicKeyHex(MODEL) });
  });

  it('does not verify under Intel\'s production root (the sim\'s quotes are test quotes)', async () => {
    const { response, nonce } = await fetchAttestation({ baseUrl: sim().apiBaseUrl, model: MODEL });
    const report = await verifyAttestation(response, { nonce, model: MODEL, collateral: simCollateral(sim()) });
    expect(report.ok).toBe(false);
    expect(failedChecks(report)).toEqual(['dcap_signature', 'dcap_crl', 'tcb_status']);
  });

  it('refuses a replayed attestation and a swapped key', async () => {
    const { response, nonce } = await fetchAttestation({ baseUrl: sim().apiBaseUrl, model: MODEL });
    const opts = { model: MODEL, collateral: simCollateral(sim()) };
    const replay = await verifyAttestationWithRoot(response, { ...opts, nonce: generateKeyPair().publicKeyHex.slice(2, 66) }, sim().attestationRootCaDer);
    expect(failedChecks(replay)).toEqual(['nonce_echo', 'report_data']);
    const swapped = generateKeyPair().publicKeyHex;
    const r = response as Record<string, unknown>;
    const keyField = 'signing_public_key' in r ? 'signing_public_key' : 'signing_key';
    const swappedReport = await verifyAttestationWithRoot(
      { ...r, [keyField]: swapped, signing_address: ethereumAddress(swapped) },
      { ...opts, nonce },
      sim().attestationRootCaDer,
    );
    expect(failedChecks(swappedReport)).toEqual(['report_data']);
    expect(() => assertAttested(swappedReport)).toThrow(expect.objectContaining({ code: 'attestation_failed' }));
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
    expect(() => s.decryptContent('hello')).toThrow(expect.objectContaining({ code: 'stream_invalid' }));
    const res = await chat(sim(), { model: MODEL, messages: s.encryptMessages(messages), stream: true }, { ...s.headers(), 'x-sim-fault': 'break-after:3' });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of s.decryptSseStream(res.body!)) got.push(c.content);
      })(),
    ).rejects.toThrow(expect.objectContaining({ code: 'stream_invalid' })); // cut mid-answer, whether the transport errors or the body just ends
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

  it('client refuses an attestation from a debug TD (debug bit, server verdict, DCAP attribute policy)', async () => {
    const report = await attestSim(sim());
    expect(report.ok).toBe(false);
    expect(report.debug).toBe(true);
    expect(failedChecks(report)).toEqual(expect.arrayContaining(['debug_off', 'server_verdict']));
    await expect(session(sim())).rejects.toSatisfy((e: unknown) => isZkCreditsError(e, 'attestation_failed'));
  });
});
