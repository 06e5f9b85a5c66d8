// The proxy with the OpenAI clients people use, changed in nothing but the base URL and the key
// (the local token): the official `openai` SDK, the Vercel AI SDK (@ai-sdk/openai-compatible with
// `ai`'s generateText/streamText) and LangChain's ChatOpenAI, streaming and not, plain and E2EE
// models; real proofs against the real stack. Then 20 requests in flight use 20 distinct credits.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2EE_MODEL, MODEL, fund, proxyFor, servedStack, type ProxyFixture } from './serve-helpers.js';

describe('zkcredits serve: OpenAI clients through the local proxy', () => {
  let env: Awaited<ReturnType<typeof servedStack>>;
  let fx: ProxyFixture;
  let openai: OpenAI;
  const spent = () => env.client.balance().then((c) => c.spent);

  beforeAll(async () => {
    env = await servedStack();
    await fund(env.stack, env.client, 40);
    fx = await proxyFor(env.client);
    openai = new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: fx.token, maxRetries: 0 });
  });
  afterAll(async () => {
    await fx?.proxy.close();
    await env?.stop();
  });

  it('listens on 127.0.0.1 and gives the base URL', () => {
    expect(fx.proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fx.proxy.baseUrl).toBe(`${fx.proxy.url}/v1`);
  });

  it('OpenAI SDK: chat completions, not streaming and streaming; models; useful headers', async () => {
    const { data, response } = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello from the openai sdk' }] }).withResponse();
    expect(data.choices[0]!.message.content).toContain('hello from the openai sdk');
    expect(response.headers.get('x-zkcredits-credits-left')).toBe('39');
    expect(response.headers.get('x-zkcredits-attestation')).toBe('none');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();

    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'streamed openai words' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('streamed openai words');
    expect(await spent()).toBe(2);

    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining([MODEL, E2EE_MODEL]));
    expect((await openai.models.retrieve(MODEL)).id).toBe(MODEL);
    await expect(openai.models.retrieve('no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    expect(await spent()).toBe(2);
  });

  it('Vercel AI SDK (@ai-sdk/openai-compatible): generateText and streamText', async () => {
    const provider = createOpenAICompatible({ name: 'zkcredits', baseURL: fx.proxy.baseUrl, apiKey: fx.token });
    const { text } = await generateText({ model: provider(MODEL), prompt: 'hello from the ai sdk', maxRetries: 0 });
    expect(text).toContain('hello from the ai sdk');

    const streamed = streamText({ model: provider(MODEL), prompt: 'streamed ai sdk words', maxRetries: 0 });
    let all = '';
    for await (const part of streamed.textStream) all += part;
    expect(all).toContain('streamed ai sdk words');
    expect(await spent()).toBe(4);
  });

  it('LangChain (@langchain/openai ChatOpenAI): invoke and stream', async () => {
    const chat = new ChatOpenAI({ model: MODEL, apiKey: fx.token, maxRetries: 0, configuration: { baseURL: fx.proxy.baseUrl } });
    const message = await chat.invoke('hello from langchain');
    expect(String(message.content)).toContain('hello from langchain');

    let all = '';
    for await (const chunk of await chat.stream('streamed langchain words')) all += String(chunk.content);
    expect(all).toContain('streamed langchain words');
    expect(await spent()).toBe(6);
  });

  it('E2EE model: encrypted by the client behind the proxy, streaming or not, attestation header dcap; the simulator sees ciphertext only', async () => {
    const before = env.stack.sim.state.requests.length;
    const { data, response } = await openai.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'a private question' }] }).withResponse();
    expect(data.choices[0]!.message.content).toContain('a private question');
    expect(response.headers.get('x-zkcredits-attestation')).toBe('dcap');

    const stream = await openai.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'a private stream' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('a private stream');

    const provider = createOpenAICompatible({ name: 'zkcredits', baseURL: fx.proxy.baseUrl, apiKey: fx.token });
    expect((await generateText({ model: provider(E2EE_MODEL), prompt: 'a private ai sdk prompt', maxRetries: 0 })).text).toContain('a private ai sdk prompt');
    const chat = new ChatOpenAI({ model: E2EE_MODEL, apiKey: fx.token, maxRetries: 0, configuration: { baseURL: fx.proxy.baseUrl } });
    let lc = '';
    for await (const chunk of await chat.stream('a private langchain prompt')) lc += String(chunk.content);
    expect(lc).toContain('a private langchain prompt');
    expect(await spent()).toBe(10);

    const chats = env.stack.sim.state.requests.slice(before).filter((r) => r.path.endsWith('/chat/completions'));
    expect(chats).toHaveLength(4);
    for (const r of chats) {
      expect(r).toMatchObject({ e2ee: true, model: E2EE_MODEL });
      expect(JSON.stringify(r.body)).not.toMatch(/private/);
    }
  });

  it('tools on an E2EE model: the client’s clear 400 passes through, nothing spent or sent', async () => {
    const chats = env.stack.sim.state.chatRequestCount;
    const refused = openai.chat.completions.create({
      model: E2EE_MODEL,
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }],
    });
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'e2ee_unsupported', param: 'tools' });
    await expect(refused).rejects.toThrow(/Tools cannot be used with the end-to-end encrypted model/);
    expect(env.stack.sim.state.chatRequestCount).toBe(chats);
    expect(await spent()).toBe(10);
  });

  it('the proxy’s events say what happened, never what was said', () => {
    const requests = fx.events.filter((e) => e.type === 'request');
    expect(requests.filter((e) => e.type === 'request' && e.paid)).toHaveLength(10);
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', route: '/v1/chat/completions', status: 400, error: 'e2ee_unsupported', model: E2EE_MODEL }));
    expect(requests.filter((e) => e.type === 'request' && e.aborted)).toEqual([]);
    const text = JSON.stringify(fx.events);
    expect(text).not.toMatch(/private|hello|streamed|weather/);
    expect(text).not.toContain(fx.token);
  });

  it('20 concurrent requests through the proxy use 20 credits, none twice', async () => {
    const before = await env.client.balance();
    const paidBefore = env.paid.length;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `question number ${i}` }], ...(i % 2 ? { stream: false } : {}) }),
      ),
    );
    answers.forEach((a, i) => expect(a.choices[0]!.message.content).toContain(`question number ${i}`));
    // Server side: 20 proofs, each accepted, 20 distinct nullifiers (none seen before either).
    const paid = env.paid.slice(paidBefore);
    expect(paid).toHaveLength(20);
    expect(paid.every((p) => p.status === 200)).toBe(true);
    expect(new Set(paid.map((p) => p.nullifierHash)).size).toBe(20);
    const earlier = new Set(env.paid.slice(0, paidBefore).filter((p) => p.status === 200).map((p) => p.nullifierHash));
    expect(paid.some((p) => earlier.has(p.nullifierHash))).toBe(false);
    // Store: 20 more spent.
    expect(await env.client.balance()).toMatchObject({ spent: before.spent + 20, unspent: before.unspent - 20 });
  });
});
