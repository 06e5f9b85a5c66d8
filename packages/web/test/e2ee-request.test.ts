// The page's side of an E2EE request, without a browser: what the pass-through forwards, what a
// sealed request may carry (never tools, never plaintext), and that the answer's deltas reach
// the screen only decrypted (a plaintext delta fails closed).
import { createE2eeSession, encryptField, generateKeyPair, type E2eeSession } from '@zkcredits/attest/e2ee';
import { BOUND_REQUEST_HEADERS } from '@zkcredits/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { streamChat } from '../src/api/client';
import { E2EE_FORBIDDEN_FIELDS, assertE2eeBody, sealRequest, unwrap, type E2eeChannel } from '../src/chat/e2ee';
import type { AttestationSummary, E2eeWorkerApi, Wire } from '../src/e2ee/types';
import { isAppError } from '../src/errors';
import { FORWARD_REQUEST } from '../src/server/forward';

const enclave = generateKeyPair();

/** The worker's E2EE calls over one real session (the worker itself needs a browser). */
function fakeWorker(session: E2eeSession, envelopeKey = enclave.publicKeyHex): Pick<E2eeWorkerApi, 'e2eeEncrypt' | 'e2eeDecrypt'> {
  const wrap = <T>(f: () => T): Wire<T> => {
    try {
      return { ok: true, value: f() };
    } catch (error) {
      return { ok: false, error: { code: 'e2ee_failed', message: 'The answer did not arrive end-to-end encrypted.', details: String(error) } };
    }
  };
  return {
    e2eeEncrypt: async (_id, messages) =>
      wrap(() => ({ headers: { ...session.headers(), 'X-Venice-TEE-Model-Pub-Key': envelopeKey }, messages: session.encryptMessages(messages) })),
    e2eeDecrypt: async (_id, contents) => wrap(() => contents.map((c) => session.decryptContent(c))),
  };
}

const attestation: AttestationSummary = {
  ok: true,
  model: 'e2ee-m',
  level: 'dcap',
  achieved: 'dcap',
  checks: [],
  modelPublicKeyHex: enclave.publicKeyHex,
  advisoryIds: [],
  verifiedAt: 0,
};
const channel: E2eeChannel = { conversationId: 'c', model: 'e2ee-m', sessionId: 's', attestation };
const messages = [
  { role: 'system' as const, content: 'be brief' },
  { role: 'user' as const, content: 'a secret question' },
];

function sse(events: unknown[]): Response {
  const text = events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');
  return new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

afterEach(() => vi.unstubAllGlobals());

describe('E2EE requests (page side)', () => {
  it('the pass-through forwards exactly the three headers the request hash binds', () => {
    expect(FORWARD_REQUEST.filter((h) => h.startsWith('x-venice-')).sort()).toEqual([...BOUND_REQUEST_HEADERS].sort());
  });

  it('a sealed request carries only ciphertext, the three headers, and never tools', async () => {
    const session = createE2eeSession(enclave.publicKeyHex);
    const sealed = await sealRequest(fakeWorker(session), channel, { model: 'e2ee-m', stream: true, max_tokens: 10 }, messages);
    expect(Object.keys(sealed.e2ee.headers).sort()).toEqual([...BOUND_REQUEST_HEADERS].sort());
    const sent = sealed.body.messages as { role: string; content: string }[];
    expect(sent.map((m) => m.role)).toEqual(['system', 'user']);
    for (const m of sent) expect(m.content).toMatch(/^[0-9a-f]{186,}$/);
    expect(JSON.stringify(sealed.body)).not.toContain('secret question');
    for (const field of E2EE_FORBIDDEN_FIELDS) {
      expect(() => assertE2eeBody({ ...sealed.body, [field]: [] }), field).toThrow(/Tools cannot be used/);
    }
    expect(() => assertE2eeBody({ ...sealed.body, stream: false })).toThrow(/must stream/);
    expect(() => assertE2eeBody({ ...sealed.body, messages: messages })).toThrow(/not encrypted/);
    session.destroy();
  });

  it('refuses to send when the envelope is not for the attested key', async () => {
    const session = createE2eeSession(enclave.publicKeyHex);
    const other = generateKeyPair().publicKeyHex;
    const error = await sealRequest(fakeWorker(session, other), channel, { model: 'e2ee-m', stream: true }, messages).catch((e: unknown) => e);
    expect(isAppError(error, 'e2ee_failed')).toBe(true);
    session.destroy();
  });

  it('decrypts every delta before it reaches the screen; a plaintext delta ends the stream unshown', async () => {
    const session = createE2eeSession(enclave.publicKeyHex);
    const { e2ee } = await sealRequest(fakeWorker(session), channel, { model: 'e2ee-m', stream: true }, messages);
    const delta = (content: string) => ({ choices: [{ delta: { content } }] });
    const mine = session.clientPublicKeyHex;

    vi.stubGlobal('fetch', async () => sse([delta(encryptField('Hello', mine)), delta(encryptField(' world', mine)), '[DONE]']));
    const shown: string[] = [];
    await streamChat({}, { onDelta: (t) => shown.push(t) }, new AbortController().signal, e2ee);
    expect(shown.join('')).toBe('Hello world');

    vi.stubGlobal('fetch', async () => sse([delta(encryptField('Hi', mine)), delta('injected plaintext'), '[DONE]']));
    const leaked: string[] = [];
    const error = await streamChat({}, { onDelta: (t) => leaked.push(t) }, new AbortController().signal, e2ee).catch((e: unknown) => e);
    expect(isAppError(error, 'e2ee_failed')).toBe(true);
    expect(leaked.join('')).not.toContain('injected');
    session.destroy();
  });

  it('unwrap turns a worker error back into the app error', () => {
    expect(() => unwrap({ ok: false, error: { code: 'attestation_failed', message: 'no' } })).toThrow('no');
  });
});
