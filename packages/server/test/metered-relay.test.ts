// The metered relay over real HTTP: a provider (the venice-sim, or a local HTTP server sending
// chosen SSE bytes split at chosen points) → the server's own upstream client → relayMetered in an
// express route that signs real states (Grumpkin Schnorr) → fetch. What is pinned: the state as a
// JSON member (the provider's bytes kept) and as `event: zkcredits.state` before `data: [DONE]`,
// usage read from every SSE framing (split at every byte boundary, CRLF, CR, comments, multi-line
// data), E2EE answers (usage plaintext, ciphertext untouched), a broken stream, a client that
// leaves, and failures before the first byte (finish is never called).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createE2eeSession } from '@zkcredits/attest';
import {
  decodeSignedState,
  encodeSignedState,
  generateStateSecret,
  initPoseidon2,
  signState,
  stateMessage,
  statePublicKey,
  verifyStateSignature,
  type SignedStateWire,
} from '@zkcredits/core';
import { createVeniceSim, simulateCompletion, type VeniceSim } from '@zkcredits/venice-sim';
import express from 'express';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { meteredCost, type Usage } from '../src/metered/pricing.js';
import { MAX_SSE_EVENT_BYTES, SseSplitter, relayMetered, stateEvent, withStateMember, type MeteredOutcome } from '../src/metered/relay.js';
import { createVeniceUpstream } from '../src/upstream/venice.js';

const PRICE = { input: 700_000, output: 2_800_000 };
const C_MAX = 50_000;
const SK = generateStateSecret();
const PK = statePublicKey(SK);
const SIM_KEY = 'relay-test-key';
const MODEL = 'llama-3.3-70b';
const E2EE_MODEL = 'e2ee-qwen3-5-122b-a10b';

/** What the route did with one call: the finish call (or the full refund of a failure before the first byte). */
type Finished = { usage: Usage | undefined; outcome: MeteredOutcome | 'failed'; state: SignedStateWire; cm: bigint; error?: string };

/** The standard stream: every SSE framing the parser must handle, then usage and [DONE]. */
const EVENTS = [
  ': keep-alive\r\n\r\n',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}],"usage":null}\r\n\r\n',
  'data:{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hé 🙂"}}],"usage":null}\n\n',
  'event: message\ndata: {"id":"c1","object":"chat.completion.chunk",\ndata: "choices":[{"index":0,"delta":{"content":" two lines"}}],"usage":null}\n\n',
  'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\r\r',
  ': usage next\ndata: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":123,"completion_tokens":45,"total_tokens":168}}\n\n',
];
const DONE_CRLF = 'data: [DONE]\r\n\r\n';
const USAGE = { prompt_tokens: 123, completion_tokens: 45 };
// ceil(123 · 0.7 + 45 · 2.8) = ceil(212.1)
const COST = 213;

let sim: VeniceSim;
let provider: Server;
let providerUrl: string;
/** How the local provider answers the next requests. */
let answer: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
let relay: Server;
let relayUrl: string;
const finished: Finished[] = [];
const finishWaiters: ((f: Finished) => void)[] = [];
let cmCounter = 1000n;

/** The next call's end (its finish, or its full refund): a state to wait for, not a duration. */
function nextFinished(): Promise<Finished> {
  const f = finished.shift();
  if (f) return Promise.resolve(f);
  return new Promise((resolve) => finishWaiters.push(resolve));
}

function record(f: Finished): void {
  const waiter = finishWaiters.shift();
  if (waiter) waiter(f);
  else finished.push(f);
}

function sign(cm: bigint, r: number): SignedStateWire {
  return encodeSignedState({ nullifier: cm, r, p: 0, sig: signState(SK, stateMessage(cm, r, 0)) });
}

/**
 * The route's part, as the chat route does it: the upstream call aborted when the client leaves,
 * finish = cost from usage → r = C_max − cost → a signed state; a failure before the first byte
 * gets a full refund in the error body.
 */
function startRelay(): Promise<Server> {
  const app = express();
  const registry = new Registry();
  const metrics = { upstreamErrors: new Counter({ name: 'relay_test_upstream_errors', help: 'x', labelNames: ['kind'] as const, registers: [registry] }) };
  const log = createLogger({ level: 'silent' });
  app.post('/chat', express.json(), async (req, res) => {
    const body = req.body as Record<string, unknown>;
    const upstream = createVeniceUpstream({
      baseUrl: String(req.headers['x-test-upstream']),
      apiKey: SIM_KEY,
      headersTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      totalTimeoutMs: 60_000,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (name.startsWith('x-venice-tee-') && typeof value === 'string') headers[name] = value;
    const cm = cmCounter++;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      const up = await upstream.chatCompletions({ body, headers, signal: abort.signal });
      await relayMetered({
        up,
        res,
        stream: body.stream === true,
        signal: abort.signal,
        beforeFirstByte: async () => {
          if (req.headers['x-test-refuse']) throw new ApiError('not_ready');
        },
        finish: async (usage, outcome) => {
          if (req.headers['x-test-finish-fails']) throw new Error('the store is down');
          const state = sign(cm, C_MAX - meteredCost(PRICE, usage, C_MAX));
          record({ usage, outcome, state, cm });
          return state;
        },
        metrics,
        log,
      });
    } catch (err) {
      if (res.headersSent) return;
      const state = sign(cm, C_MAX);
      const code = err instanceof ApiError ? err.code : 'internal_error';
      record({ usage: undefined, outcome: 'failed', state, cm, error: code });
      res.status(502).json({ error: { code }, zkcredits: state });
    }
  });
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server);
}

beforeAll(async () => {
  await initPoseidon2();
  sim = await createVeniceSim({ apiKey: SIM_KEY });
  provider = createServer((req, res) => {
    req.resume();
    req.on('end', () => void Promise.resolve(answer(req, res)).catch(() => res.destroy()));
  });
  provider.listen(0, '127.0.0.1');
  await once(provider, 'listening');
  providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  relay = await startRelay();
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await sim?.close();
  for (const s of [provider, relay]) {
    s?.closeAllConnections();
    await new Promise((resolve) => s?.close(resolve));
  }
});

function post(upstream: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${relayUrl}/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-upstream': upstream, ...headers },
    body: JSON.stringify(body),
    signal,
  });
}

const chatBody = (stream: boolean, extra: Record<string, unknown> = {}) => ({ model: MODEL, stream, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** Writes `parts` as separate TCP writes (each flushed before the next), then ends unless `end` is false. */
async function sendParts(res: ServerResponse, parts: (string | Buffer)[], opts: { contentType?: string; end?: boolean } = {}): Promise<void> {
  res.socket?.setNoDelay(true);
  res.writeHead(200, { 'content-type': opts.contentType ?? 'text/event-stream; charset=utf-8' });
  res.flushHeaders();
  for (const part of parts) {
    await new Promise<void>((resolve) => res.write(part, () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (opts.end !== false) res.end();
}

/** Checks a state: it decodes, its signature verifies on the call's cm, and it refunds `C_max − cost`. */
function expectState(wire: unknown, f: Finished, cost: number): void {
  const s = decodeSignedState(wire);
  expect(wire).toEqual(f.state);
  expect(s.r).toBe(C_MAX - cost);
  expect(s.p).toBe(0);
  expect(verifyStateSignature(PK, stateMessage(f.cm, s.r, s.p), s.sig)).toBe(true);
}

/** Splits an SSE text at `event: zkcredits.state`: what came before it, the state, what came after. */
function splitState(text: string): { before: string; state: SignedStateWire; after: string } {
  const m = /event: zkcredits\.state\ndata: (.*)\n\n/.exec(text);
  if (!m) throw new Error('no zkcredits.state event in the answer');
  expect(text.split('zkcredits.state')).toHaveLength(2);
  return { before: text.slice(0, m.index), state: JSON.parse(m[1]!) as SignedStateWire, after: text.slice(m.index + m[0].length) };
}

describe('SseSplitter', () => {
  const stream = Buffer.from([...EVENTS, DONE_CRLF].join(''));
  const expected = [...EVENTS, DONE_CRLF];

  function parseAll(chunks: Buffer[]) {
    const p = new SseSplitter();
    const events = chunks.flatMap((c) => p.push(c));
    return { events, pending: p.pending, rest: p.rest().toString() };
  }

  it('finds every event, its exact bytes, type and data, wherever the chunks split it (every pair of boundaries)', () => {
    const whole = parseAll([stream]);
    expect(whole.events.map((e) => e.raw.toString())).toEqual(expected);
    expect(whole.events.map((e) => e.type)).toEqual(['', '', '', 'message', '', '', '']);
    expect(whole.events[0]!.data).toBeUndefined();
    expect(JSON.parse(whole.events[2]!.data!).choices[0].delta.content).toBe('Hé 🙂');
    expect(JSON.parse(whole.events[3]!.data!).choices[0].delta.content).toBe(' two lines');
    expect(JSON.parse(whole.events[5]!.data!).usage).toMatchObject(USAGE);
    expect(whole.events[6]!.data).toBe('[DONE]');
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j += 7) {
        const got = parseAll([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        // A CRLF split after its CR: the LF waits for the next event (here none: it stays in rest()).
        expect(got.events.map((e) => e.raw.toString()).join('') + got.rest).toBe(stream.toString());
        expect(got.rest).toBe(i === stream.length - 1 || j === stream.length - 1 ? '\n' : '');
        expect(got.events.map((e) => e.data)).toEqual(whole.events.map((e) => e.data));
        expect(got.pending).toBe(0);
      }
    }
  });

  it('one byte at a time', () => {
    const got = parseAll([...stream].map((b) => Buffer.from([b])));
    expect(got.events.map((e) => e.data)).toEqual(parseAll([stream]).events.map((e) => e.data));
  });

  it('holds an incomplete event back, and refuses one beyond the size bound', () => {
    const p = new SseSplitter(64);
    expect(p.push(Buffer.from('data: {"a":1}\n\ndata: {"b"'))).toHaveLength(1);
    expect(p.pending).toBe('data: {"b"'.length);
    expect(() => p.push(Buffer.alloc(64, 0x61))).toThrow(/more than 64 bytes/);
  });

  it('strips a leading BOM and reads field lines without a colon or a space', () => {
    const events = new SseSplitter().push(Buffer.from('\uFEFFdata:x\ndata\nevent:zkcredits.state\n\n'));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ data: 'x\n', type: 'zkcredits.state' });
  });
});

describe('withStateMember', () => {
  let state: SignedStateWire;
  beforeAll(() => {
    state = sign(7n, 5);
  });
  it("adds the member last and keeps the provider's bytes", () => {
    const text = '{ "b" : 1.0 ,\n  "a": [1e2] }\n';
    const out = withStateMember(text, JSON.parse(text), state);
    expect(out).toBe(`{ "b" : 1.0 ,\n  "a": [1e2] ,"zkcredits":${JSON.stringify(state)}}\n`);
    expect(withStateMember(' { } ', {}, state)).toBe(` { "zkcredits":${JSON.stringify(state)}} `);
  });
  it('replaces a member of the same name the provider sent', () => {
    const out = JSON.parse(withStateMember('{"zkcredits":1,"a":2}', { zkcredits: 1, a: 2 }, state));
    expect(out).toEqual({ zkcredits: state, a: 2 });
  });
});

describe('relayMetered, JSON answers', () => {
  it('adds the signed state as the zkcredits member, refunding C_max minus the cost of the real usage', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'count these seven words for me please' },
    ];
    const res = await post(sim.apiBaseUrl, { model: MODEL, messages, max_completion_tokens: 5 });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-venice-balance-usd')).toBeNull();
    const body = (await res.json()) as Record<string, unknown>;
    const f = await nextFinished();
    const sim_ = simulateCompletion(messages, 5);
    const usage = { prompt_tokens: sim_.promptTokens, completion_tokens: sim_.completionTokens };
    expect(f).toMatchObject({ outcome: 'served', usage });
    expect(Object.keys(body).at(-1)).toBe('zkcredits');
    expect(body.usage).toMatchObject(usage);
    expectState(body.zkcredits, f, meteredCost(PRICE, usage, C_MAX));
    // 11 · 0.7 + 5 · 2.8 = 21.7 → 22
    expect((body.zkcredits as SignedStateWire).r).toBe(C_MAX - 22);
  });

  it("keeps the provider's bytes exactly, the member added before the closing brace", async () => {
    const text = '{\n  "id": "chatcmpl-1", "created": 1.0,\n  "choices": [{"message": {"content": "ok \\u00e9"}}],\n  "usage": {"prompt_tokens": 10, "completion_tokens": 1000}\n}\n';
    answer = (_req, res) => sendParts(res, [text], { contentType: 'application/json' });
    const out = await (await post(providerUrl, chatBody(false))).text();
    const f = await nextFinished();
    expect(out).toBe(text.replace(/}\n$/, `,"zkcredits":${JSON.stringify(f.state)}}\n`));
    // 10 · 0.7 + 1000 · 2.8 = 2807
    expectState(JSON.parse(out).zkcredits, f, 2807);
  });

  it('charges C_max when the answer has no usage', async () => {
    answer = (_req, res) => sendParts(res, ['{"id":"x","choices":[]}'], { contentType: 'application/json' });
    const body = await (await post(providerUrl, chatBody(false))).json();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'served', usage: undefined });
    expectState(body.zkcredits, f, C_MAX);
  });

  it('a 2xx answer that is not a JSON object fails before the first byte: finish is not called', async () => {
    for (const bad of ['not json', '[1,2]', '']) {
      answer = (_req, res) => sendParts(res, [bad], { contentType: 'application/json' });
      const res = await post(providerUrl, chatBody(false));
      expect(res.status).toBe(502);
      const body = await res.json();
      const f = await nextFinished();
      expect(f).toMatchObject({ outcome: 'failed', error: 'upstream_error' });
      expectState(body.zkcredits, f, 0);
    }
  });

  it('a streamed request the provider answers as JSON gets the member', async () => {
    answer = (_req, res) => sendParts(res, ['{"usage":{"prompt_tokens":1,"completion_tokens":1}}'], { contentType: 'application/json' });
    const body = await (await post(providerUrl, chatBody(true))).json();
    expectState(body.zkcredits, await nextFinished(), 4);
  });
});

describe('relayMetered, SSE answers', () => {
  const plainPrefix = EVENTS.join('');

  it('passes every event through and sends the state event right before data: [DONE], at every byte boundary', async () => {
    const stream = Buffer.from(plainPrefix + DONE_CRLF);
    for (let k = 1; k < stream.length; k++) {
      answer = (_req, res) => sendParts(res, [stream.subarray(0, k), stream.subarray(k)]);
      const res = await post(providerUrl, chatBody(true));
      const text = await res.text();
      const f = await nextFinished();
      expect(f.outcome).toBe('served');
      expect(f.usage).toEqual(USAGE);
      expect(text).toBe(plainPrefix + stateEvent(f.state).toString() + 'data: [DONE]\n\n');
    }
    const f = finished.length;
    expect(f).toBe(0);
  });

  it('one byte per TCP write', async () => {
    const stream = Buffer.from(plainPrefix + DONE_CRLF);
    answer = (_req, res) => sendParts(res, [...stream].map((b) => Buffer.from([b])));
    const res = await post(providerUrl, chatBody(true));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const text = await res.text();
    const f = await nextFinished();
    const { before, state, after } = splitState(text);
    expect(before).toBe(plainPrefix);
    expect(after).toBe('data: [DONE]\n\n');
    expectState(state, f, COST);
  });

  it('streams from the venice-sim: its usage chunk is relayed, then the state, then [DONE]', async () => {
    const messages = [{ role: 'user', content: 'one two three four five six seven eight' }];
    const res = await post(sim.apiBaseUrl, { model: MODEL, messages, stream: true, stream_options: { include_usage: true }, max_tokens: 4 });
    const { before, state, after } = splitState(await res.text());
    const f = await nextFinished();
    const expected = simulateCompletion(messages, 4);
    const usage = { prompt_tokens: expected.promptTokens, completion_tokens: expected.completionTokens };
    expect(f.usage).toEqual(usage);
    const chunks = before.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.slice('data: '.length)));
    expect(chunks.at(-1).usage).toMatchObject(usage);
    expect(after).toBe('data: [DONE]\n\n');
    expectState(state, f, meteredCost(PRICE, usage, C_MAX));
  });

  it('E2EE: usage is read from the plaintext usage chunk, the ciphertext passes untouched and decrypts', async () => {
    const session = createE2eeSession(sim.enclavePublicKeyHex(E2EE_MODEL));
    const plain = [{ role: 'user', content: 'a secret question of seven words' }];
    const res = await post(
      sim.apiBaseUrl,
      { model: E2EE_MODEL, stream: true, stream_options: { include_usage: true }, messages: session.encryptMessages(plain) },
      session.headers(),
    );
    expect(res.status).toBe(200);
    const text = await res.text();
    const f = await nextFinished();
    const expected = simulateCompletion(plain, 8192);
    expect(f.usage).toEqual({ prompt_tokens: expected.promptTokens, completion_tokens: expected.completionTokens });
    expect(text).not.toContain('secret');
    // The E2EE session reads the whole answer, the state event included (it has no choices).
    let content = '';
    for await (const c of session.decryptSseStream([Buffer.from(text)])) content += c.content;
    expect(content).toBe(expected.content);
    expectState(splitState(text).state, f, meteredCost(PRICE, f.usage, C_MAX));
    session.destroy();
  });

  it('the state waits for the end of the answer: a stream held after its usage chunk has no state yet', async () => {
    sim.faults.once('stall-after:99');
    const res = await post(sim.apiBaseUrl, { ...chatBody(true), stream_options: { include_usage: true } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('"usage":{')) text += new TextDecoder().decode((await reader.read()).value);
    await sim.faults.whenStalled();
    expect(finished).toHaveLength(0);
    expect(text).not.toContain('zkcredits');
    sim.faults.release();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    const f = await nextFinished();
    expect(f.outcome).toBe('served');
    expect(splitState(text).after).toBe('data: [DONE]\n\n');
  });

  it('a stream that breaks after it began: truncated, cost C_max, the state event still sent, no [DONE]', async () => {
    sim.faults.once('break-after:3');
    const res = await post(sim.apiBaseUrl, { ...chatBody(true), stream_options: { include_usage: true } });
    expect(res.status).toBe(200);
    const text = await res.text();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'truncated', usage: undefined });
    const { before, state, after } = splitState(text);
    expect(before.split('\n\n').filter(Boolean)).toHaveLength(3);
    expect(after).toBe('');
    expectState(state, f, C_MAX);
  });

  it('a stream that breaks inside an event: the partial event is not sent, the state event is well-formed', async () => {
    answer = async (_req, res) => {
      await sendParts(res, [EVENTS[1]!, 'data: {"id":"c1","cho'], { end: false });
      res.destroy();
    };
    const text = await (await post(providerUrl, chatBody(true))).text();
    const f = await nextFinished();
    expect(f.outcome).toBe('truncated');
    expect(text).toBe(EVENTS[1] + stateEvent(f.state).toString());
  });

  it('a stream that ends without [DONE]: served with its usage, the state event last, no [DONE] made up', async () => {
    answer = (_req, res) => sendParts(res, [plainPrefix, 'data: {"incomplete":']);
    const text = await (await post(providerUrl, chatBody(true))).text();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'served', usage: USAGE });
    expect(text).toBe(plainPrefix + stateEvent(f.state).toString());
  });

  it('does not wait for the provider to close after [DONE], and drops what follows it', async () => {
    let providerRes: ServerResponse | undefined;
    answer = async (_req, res) => {
      providerRes = res;
      await sendParts(res, [plainPrefix + DONE_CRLF + 'data: {"late":true}\n\n'], { end: false });
    };
    const text = await (await post(providerUrl, chatBody(true))).text();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'served', usage: USAGE });
    expect(text).toBe(plainPrefix + stateEvent(f.state).toString() + 'data: [DONE]\n\n');
    providerRes?.end();
  });

  it("drops a zkcredits.state event from the provider: the client sees only the server's", async () => {
    const forged = `event: zkcredits.state\ndata: ${JSON.stringify(sign(1n, C_MAX))}\n\n`;
    answer = (_req, res) => sendParts(res, [EVENTS[1]!, forged, EVENTS[5]!, DONE_CRLF]);
    const text = await (await post(providerUrl, chatBody(true))).text();
    const f = await nextFinished();
    expect(text).toBe(EVENTS[1]! + EVENTS[5]! + stateEvent(f.state).toString() + 'data: [DONE]\n\n');
  });

  it('an event beyond the size bound is a broken stream', async () => {
    answer = (_req, res) => sendParts(res, [EVENTS[1]!, 'data: ', Buffer.alloc(MAX_SSE_EVENT_BYTES + 1, 0x61)]);
    const text = await (await post(providerUrl, chatBody(true))).text();
    const f = await nextFinished();
    expect(f.outcome).toBe('truncated');
    expect(text).toBe(EVENTS[1] + stateEvent(f.state).toString());
  });

  it('a client that leaves mid-stream: client_left, the provider answer is cancelled', async () => {
    sim.faults.once('stall-after:2');
    const abort = new AbortController();
    const res = await post(sim.apiBaseUrl, { ...chatBody(true), stream_options: { include_usage: true } }, {}, abort.signal);
    const reader = res.body!.getReader();
    let text = '';
    while (text.split('\n\n').length < 3) text += new TextDecoder().decode((await reader.read()).value);
    await sim.faults.whenStalled();
    abort.abort();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'client_left', usage: undefined });
    await vi.waitFor(() => expect(sim.faults.stalled).toBe(0));
  });

  it('an empty 2xx stream fails before the first byte: finish is not called, the route refunds in full', async () => {
    answer = (_req, res) => sendParts(res, []);
    const res = await post(providerUrl, chatBody(true));
    expect(res.status).toBe(502);
    const body = await res.json();
    const f = await nextFinished();
    expect(f).toMatchObject({ outcome: 'failed', error: 'upstream_error' });
    expectState(body.zkcredits, f, 0);
  });

  it('beforeFirstByte throwing sends nothing of the answer and signs nothing', async () => {
    const res = await post(sim.apiBaseUrl, chatBody(true), { 'x-test-refuse': '1' });
    expect(res.status).toBe(502);
    expect(await nextFinished()).toMatchObject({ outcome: 'failed', error: 'not_ready' });
  });

  it('finish throwing after the stream began destroys the response (the client recovers the state later)', async () => {
    const res = await post(sim.apiBaseUrl, chatBody(true), { 'x-test-finish-fails': '1' });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(finished).toHaveLength(0);
  });
});
