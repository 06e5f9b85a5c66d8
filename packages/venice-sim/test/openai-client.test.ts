import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { assertAttested, createE2eeSession } from '@zkcredits/attest';
import { simulateCompletion } from '../src/index.js';
import { attestSim } from './attest-client.js';
import { API_KEY, useSim } from './helpers.js';

const messages = [{ role: 'user' as const, content: 'ping from the openai client' }];

describe('OpenAI npm client against the sim', () => {
  const sim = useSim();
  const client = () => new OpenAI({ apiKey: API_KEY, baseURL: sim().apiBaseUrl, maxRetries: 0 });

  it('creates a non-streaming completion', async () => {
    const r = await client().chat.completions.create({ model: 'llama-3.3-70b', messages, max_tokens: 4 });
    expect(r.choices[0]!.message.content).toBe(simulateCompletion(messages, 4).content);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(4);
  });

  it('streams with include_usage', async () => {
    const stream = await client().chat.completions.create({ model: 'llama-3.3-70b', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(simulateCompletion(messages, 8192).content);
    expect(usage?.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it('lists models', async () => {
    const ids = [];
    for await (const m of client().models.list()) ids.push(m.id);
    expect(ids).toContain('e2ee-qwen3-5-122b-a10b');
  });

  it('maps 401, 404 and 429 to the SDK error classes', async () => {
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: sim().apiBaseUrl, maxRetries: 0 });
    await expect(bad.chat.completions.create({ model: 'llama-3.3-70b', messages })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client().chat.completions.create({ model: 'nope', messages })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    sim().faults.once('status:429');
    await expect(client().chat.completions.create({ model: 'llama-3.3-70b', messages })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('carries an E2EE request and the client decrypts each delta', async () => {
    const model = 'e2ee-qwen3-5-122b-a10b';
    const s = createE2eeSession(assertAttested(await attestSim(sim(), model)));
    const stream = await client().chat.completions.create(
      { model, messages: s.encryptMessages(messages), stream: true },
      { headers: s.headers() },
    );
    let text = '';
    for await (const chunk of stream) text += s.decryptContent(chunk.choices[0]?.delta.content ?? '');
    expect(text).toBe(simulateCompletion(messages, 16384).content);
    expect(sim().state.lastRequest?.e2ee).toBe(true);
  });
});
