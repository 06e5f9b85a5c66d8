import { describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, simulateCompletion } from '../src/index.js';
import { API_KEY, chat, sseData, useSim } from './helpers.js';

const MODEL = 'venice-uncensored';
const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'the quick brown fox jumps' },
];

describe('POST /chat/completions', () => {
  const sim = useSim();

  it('answers a non-streaming request with an OpenAI-shaped completion derived from the prompt', async () => {
    const res = await chat(sim(), { model: MODEL, messages });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    const expected = simulateCompletion(messages, 8192);
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: expected.content }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 },
      venice_parameters: { include_venice_system_prompt: true, web_search_citations: [] },
    });
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.choices[0].message.content).toMatch(/^sim-[0-9a-f]{8}: the quick brown fox jumps$/);
  });

  it('derives a different reply from a different conversation', async () => {
    const a = await (await chat(sim(), { model: MODEL, messages: [{ role: 'user', content: 'alpha' }] })).json();
    const b = await (await chat(sim(), { model: MODEL, messages: [{ role: 'user', content: 'beta' }] })).json();
    expect(a.choices[0].message.content).not.toBe(b.choices[0].message.content);
    expect(b.choices[0].message.content).toMatch(/ beta$/);
  });

  it('caps completion tokens at max_tokens and reports finish_reason "length"', async () => {
    const body = await (await chat(sim(), { model: MODEL, messages, max_tokens: 3 })).json();
    expect(body.usage.completion_tokens).toBe(3);
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.choices[0].message.content.split(' ')).toHaveLength(3);
    const viaCompletionTokens = await (await chat(sim(), { model: MODEL, messages, max_completion_tokens: 2 })).json();
    expect(viaCompletionTokens.usage.completion_tokens).toBe(2);
  });

  it('ignores max_tokens <= 0 as Venice documents', async () => {
    const body = await (await chat(sim(), { model: MODEL, messages, max_tokens: 0 })).json();
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage.completion_tokens).toBe(6);
  });

  it('streams one SSE chunk per token, then a finish chunk, then data: [DONE]', async () => {
    const res = await chat(sim(), { model: MODEL, messages, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = await sseData(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expect(c).toMatchObject({ object: 'chat.completion.chunk', model: MODEL });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const pieces = chunks.slice(1, -1).map((c) => c.choices[0].delta.content);
    expect(pieces).toEqual(simulateCompletion(messages, 8192).pieces);
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('adds a final usage chunk when stream_options.include_usage is set, honouring max_tokens', async () => {
    const res = await chat(sim(), { model: MODEL, messages, stream: true, max_tokens: 4, stream_options: { include_usage: true } });
    const chunks = (await sseData(res)).slice(0, -1).map((d) => JSON.parse(d));
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    expect(chunks.at(-2).choices[0].finish_reason).toBe('length');
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBe(4);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('reports usage that grows with the prompt and with the answer, the same streamed or not', async () => {
    const usageOf = async (words: number, max?: number) => {
      const request = { model: MODEL, messages: [{ role: 'user', content: Array.from({ length: words }, (_, i) => `w${i}`).join(' ') }], max_completion_tokens: max };
      const json = (await (await chat(sim(), request)).json()).usage;
      const streamed = (await sseData(await chat(sim(), { ...request, stream: true, stream_options: { include_usage: true } })))
        .slice(0, -1)
        .map((d) => JSON.parse(d))
        .at(-1).usage;
      expect(streamed).toEqual(json);
      expect(json.total_tokens).toBe(json.prompt_tokens + json.completion_tokens);
      return json as { prompt_tokens: number; completion_tokens: number };
    };
    const short = await usageOf(3);
    const long = await usageOf(300);
    const capped = await usageOf(300, 10);
    expect(short).toMatchObject({ prompt_tokens: 4, completion_tokens: 4 });
    expect(long).toMatchObject({ prompt_tokens: 301, completion_tokens: 301 });
    expect(capped).toMatchObject({ prompt_tokens: 301, completion_tokens: 10 });
  });

  it('sends Venice rate-limit headers', async () => {
    const res = await chat(sim(), { model: MODEL, messages });
    for (const h of ['limit-requests', 'remaining-requests', 'reset-requests', 'limit-tokens', 'remaining-tokens', 'reset-tokens']) {
      expect(Number(res.headers.get(`x-ratelimit-${h}`))).toBeGreaterThanOrEqual(0);
    }
  });

  it('rejects a missing or wrong API key with 401 and a Venice error body', async () => {
    const wrong = await chat(sim(), { model: MODEL, messages }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'Authentication failed' });
    const missing = await fetch(`${sim().apiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages }),
    });
    expect(missing.status).toBe(401);
  });

  it('rejects an unknown model with 404 "Specified model not found"', async () => {
    const res = await chat(sim(), { model: 'gpt-17', messages });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'Specified model not found' });
  });

  it('rejects an invalid body with 400 and field-level details', async () => {
    const res = await chat(sim(), { model: MODEL, messages: [] });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toBe('Invalid request parameters');
    expect(body.details.messages._errors.length).toBeGreaterThan(0);
    const notJson = await fetch(`${sim().apiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(notJson.status).toBe(400);
  });

  it('accepts Venice model feature suffixes and echoes them in venice_parameters', async () => {
    const body = await (await chat(sim(), { model: `${MODEL}:include_venice_system_prompt=false`, messages })).json();
    expect(body.model).toBe(MODEL);
    expect(body.venice_parameters.include_venice_system_prompt).toBe(false);
  });

  it('records what it received in state without the caller printing anything', async () => {
    await chat(sim(), { model: MODEL, messages }, { 'x-trace': 'abc' });
    expect(sim().state.chatRequestCount).toBe(1);
    expect(sim().state.lastRequest).toMatchObject({ path: '/api/v1/chat/completions', model: MODEL, e2ee: false, encryptedFields: 0, status: 200 });
    expect(sim().state.lastRequest!.headers['x-trace']).toBe('abc');
  });
});

describe('GET /models', () => {
  const sim = useSim();

  it('lists text models with model_spec capabilities including TEE and E2EE flags', async () => {
    const res = await fetch(`${sim().apiBaseUrl}/models`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.object).toBe('list');
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(DEFAULT_MODELS.map((m) => m.id));
    const e2ee = body.data.find((m: { id: string }) => m.id === 'e2ee-qwen3-5-122b-a10b');
    expect(e2ee).toMatchObject({
      object: 'model',
      owned_by: 'venice.ai',
      type: 'text',
      model_spec: { capabilities: { supportsE2EE: true, supportsTeeAttestation: true }, privacy: 'private' },
    });
    const plain = body.data.find((m: { id: string }) => m.id === 'venice-uncensored');
    expect(plain.model_spec.capabilities).toMatchObject({ supportsE2EE: false, supportsTeeAttestation: false });
  });
});
