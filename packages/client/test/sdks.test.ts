// The OpenAI SDK, the Vercel AI SDK and LangChain pay through `zk.fetch` with nothing changed
// but the base URL, the key and the fetch: plain and E2EE models, streaming and not, real proofs
// against the real stack. The simulator receives only ciphertext for the E2EE model.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, type BuyStep, type CreditRecord, type FetchFn, type SpendProver, type ZkCreditsClient } from '../src/index.js';
import { nodeProver } from '../src/node.js';
import { E2EE_MODEL, MODEL, clientFor, fundedWallet, startClientStack, waitModelsKnown, type Stack } from './helpers.js';

describe('zk.fetch with OpenAI clients', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let prover: SpendProver;
  let store: MemoryCreditStore;
  let zk: ZkCreditsClient;
  let openai: OpenAI;
  const paid = () => zk.balance().then((c) => c.spent);

  beforeAll(async () => {
    stack = await startClientStack();
    prover = await nodeProver({ backend: 'native' })();
    store = new MemoryCreditStore();
    zk = clientFor(stack, prover, { store });
    openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', fetch: zk.fetch, maxRetries: 0 });
    await waitModelsKnown(stack);
  });
  afterAll(async () => {
    await zk?.close();
    await prover?.destroy?.();
    await stack?.stopAll();
  });

  it('buy: credits are saved pending before the wallet is asked for anything, unspent once confirmed', async () => {
    const walletClient = await fundedWallet(stack, 2);
    const steps: { step: BuyStep; statuses: string[] }[] = [];
    const bought = await zk.buy(12, {
      walletClient,
      async onStep(step) {
        steps.push({ step, statuses: (await store.list()).map((r) => r.status) });
      },
    });
    expect(steps.map((s) => s.step)).toEqual(['generate', 'save', 'approve', 'send', 'confirm', 'done']);
    expect(steps.find((s) => s.step === 'approve')!.statuses).toEqual(Array(12).fill('pending'));
    expect(bought.map((r) => r.status)).toEqual(Array(12).fill('unspent'));
    expect(bought.map((r) => r.leafIndex)).toEqual([...Array(12).keys()]);
    await stack.waitIndexed(12);
    expect(await zk.sync()).toMatchObject({ size: 12, credits: { unspent: 12, spent: 0, pending: 0 } });
  });

  it('OpenAI SDK: chat completions, not streaming and streaming', async () => {
    const answer = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello from the openai sdk' }] });
    expect(answer.choices[0]!.message.content).toContain('hello from the openai sdk');

    const stream = await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'streamed openai words' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('streamed openai words');
    expect(await paid()).toBe(2);
  });

  it('Vercel AI SDK (@ai-sdk/openai-compatible): generateText and streamText', async () => {
    const provider = createOpenAICompatible({ name: 'zkcredits', baseURL: `${stack.url}/v1`, fetch: zk.fetch });
    const { text } = await generateText({ model: provider(MODEL), prompt: 'hello from the ai sdk', maxRetries: 0 });
    expect(text).toContain('hello from the ai sdk');

    const streamed = streamText({ model: provider(MODEL), prompt: 'streamed ai sdk words', maxRetries: 0 });
    let all = '';
    for await (const part of streamed.textStream) all += part;
    expect(all).toContain('streamed ai sdk words');
    expect(await paid()).toBe(4);
  });

  it('LangChain (@langchain/openai ChatOpenAI): invoke and stream', async () => {
    const chat = new ChatOpenAI({ model: MODEL, apiKey: 'unused', maxRetries: 0, configuration: { baseURL: `${stack.url}/v1`, fetch: zk.fetch } });
    const message = await chat.invoke('hello from langchain');
    expect(String(message.content)).toContain('hello from langchain');

    let all = '';
    for await (const chunk of await chat.stream('streamed langchain words')) all += String(chunk.content);
    expect(all).toContain('streamed langchain words');
    expect(await paid()).toBe(6);
  });

  it('E2EE model: every message encrypted to the attested enclave, answers decrypted, streaming or not, with each SDK', async () => {
    const before = stack.sim.state.requests.length;
    const answer = await openai.chat.completions.create({
      model: E2EE_MODEL,
      messages: [
        { role: 'system', content: 'a private system prompt' },
        { role: 'user', content: 'a private question' },
      ],
    });
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0]!.message.content).toContain('a private question');
    expect(answer.usage?.total_tokens).toBeGreaterThan(0);

    const stream = await openai.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'a private stream' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('a private stream');

    const provider = createOpenAICompatible({ name: 'zkcredits', baseURL: `${stack.url}/v1`, fetch: zk.fetch });
    const { text: aiText } = await generateText({ model: provider(E2EE_MODEL), prompt: 'a private ai sdk prompt', maxRetries: 0 });
    expect(aiText).toContain('a private ai sdk prompt');

    const chat = new ChatOpenAI({ model: E2EE_MODEL, apiKey: 'unused', maxRetries: 0, configuration: { baseURL: `${stack.url}/v1`, fetch: zk.fetch } });
    let lc = '';
    for await (const chunk of await chat.stream('a private langchain prompt')) lc += String(chunk.content);
    expect(lc).toContain('a private langchain prompt');
    expect(await paid()).toBe(10);

    // What the simulator (the provider) received: ciphertext only, with the bound E2EE headers.
    const chats = stack.sim.state.requests.slice(before).filter((r) => r.path.endsWith('/chat/completions'));
    expect(chats).toHaveLength(4);
    for (const r of chats) {
      expect(r).toMatchObject({ e2ee: true, stream: true, model: E2EE_MODEL });
      const messages = (r.body as { messages: { content: string }[] }).messages;
      expect(r.encryptedFields).toBe(messages.length);
      expect(JSON.stringify(r.body)).not.toMatch(/private/);
    }
    expect(stack.sim.state.requests.some((r) => r.path.includes('/tee/attestation'))).toBe(true);
  });

  it('E2EE model: tools are refused before anything is attested, proven or sent', async () => {
    const attestations = stack.sim.state.requests.filter((r) => r.path.includes('/tee/attestation')).length;
    const before: readonly CreditRecord[] = await store.list();
    const chats = stack.sim.state.chatRequestCount;
    const refused = openai.chat.completions.create({
      model: E2EE_MODEL,
      messages: [{ role: 'user', content: 'what is the weather' }],
      tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }],
    });
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'e2ee_unsupported', param: 'tools' });
    await expect(refused).rejects.toThrow(/Tools cannot be used with the end-to-end encrypted model/);
    expect(await store.list()).toEqual(before);
    expect(stack.sim.state.chatRequestCount).toBe(chats);
    expect(stack.sim.state.requests.filter((r) => r.path.includes('/tee/attestation')).length).toBe(attestations);
  });

  it('passes GET /v1/models through and answers other routes with an error naming the supported one', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining([MODEL, E2EE_MODEL]));

    const responses = openai.responses.create({ model: MODEL, input: 'hi' });
    await expect(responses).rejects.toMatchObject({ status: 404, code: 'route_not_supported' });
    await expect(responses).rejects.toThrow(/POST \/v1\/chat\/completions/);
    const embeddings = openai.embeddings.create({ model: MODEL, input: 'hi' });
    await expect(embeddings).rejects.toMatchObject({ status: 404, code: 'route_not_supported' });
    expect(await paid()).toBe(10);
  });

  it('an aborted call rejects like fetch and keeps the credit', async () => {
    const before = await zk.balance();
    const controller = new AbortController();
    controller.abort();
    const call = zk.fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'never sent' }] }), signal: controller.signal });
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(await zk.balance()).toEqual(before);
  });

  it('a server error is the server’s own answer and keeps the credit', async () => {
    const before = await zk.balance();
    const tooLong = openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100_000 });
    await expect(tooLong).rejects.toMatchObject({ status: 400, code: 'max_tokens_exceeded' });
    expect(await zk.balance()).toEqual(before);
  });

  it('E2EE fails closed: an enclave that does not verify gets nothing, and the credit is kept', async () => {
    const fresh = clientFor(stack, prover, { store }); // no verified enclave cached yet
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', fetch: fresh.fetch, maxRetries: 0 });
    const before = await fresh.balance();
    const chats = stack.sim.state.chatRequestCount;
    stack.sim.attestationFaults.set({ debug: true });
    try {
      const refused = client.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'to a debug enclave' }] });
      await expect(refused).rejects.toMatchObject({ status: 502, code: 'attestation_failed' });
      await expect(refused).rejects.toThrow(/debug_off/);
      expect((await fresh.attest(E2EE_MODEL)).checks.find((c) => c.name === 'debug_off')?.status).toBe('fail');
    } finally {
      stack.sim.attestationFaults.clear();
    }
    expect(stack.sim.state.chatRequestCount).toBe(chats);
    expect(await fresh.balance()).toEqual(before);
  });

  it('E2EE fails closed: a plaintext delta in the answer is never shown (the credit was spent by the server rule)', async () => {
    // Between client and server, something swaps one encrypted delta for plaintext.
    const tampering: FetchFn = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method !== 'POST' || res.status !== 200) return res;
      let swapped = false;
      const text = (await res.text()).replace(/"content":"[0-9a-f]{186,}"/, (m) => (swapped ? m : ((swapped = true), '"content":"INJECTED PLAINTEXT"')));
      return new Response(text, { status: 200, headers: res.headers });
    };
    const victim = clientFor(stack, prover, { store, fetch: tampering });
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', fetch: victim.fetch, maxRetries: 0 });
    const spent = await paid();

    const whole = client.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'tampered whole' }] });
    await expect(whole).rejects.toMatchObject({ status: 502, code: 'e2ee_failed' });

    const stream = await client.chat.completions.create({ model: E2EE_MODEL, messages: [{ role: 'user', content: 'tampered stream' }], stream: true });
    let shown = '';
    const read = async () => {
      for await (const chunk of stream) shown += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(read()).rejects.toMatchObject({ code: 'e2ee_failed' });
    expect(shown).not.toContain('INJECTED');
    expect(await paid()).toBe(spent + 2);
  });
});
