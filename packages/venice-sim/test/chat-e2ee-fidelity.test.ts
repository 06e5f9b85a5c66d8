// How the sim's catalogue and E2EE chat follow live Venice: one `e2ee-*` id serves both TEE
// flows, plaintext turns under E2EE are refused, and the E2EE gateway drops function calling.
import { createE2eeSession } from '@zkcredits/attest/e2ee';
import { describe, expect, it } from 'vitest';
import { chat, sseData, useSim } from './helpers.js';

const MODEL = 'e2ee-qwen3-5-122b-a10b';

type ModelEntry = { id: string; model_spec: { capabilities: { supportsE2EE: boolean; supportsTeeAttestation: boolean } } };

describe('catalogue', () => {
  const sim = useSim();

  it('lists TEE models under e2ee-* ids only, each capable of both flows', async () => {
    const body = (await (await fetch(`${sim().apiBaseUrl}/models`)).json()) as { data: ModelEntry[] };
    const ids = body.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([MODEL, 'e2ee-glm-5', 'llama-3.3-70b']));
    expect(ids.some((id) => id.startsWith('tee-'))).toBe(false);
    for (const m of body.data) {
      const c = m.model_spec.capabilities;
      expect(c.supportsE2EE).toBe(m.id.startsWith('e2ee-'));
      expect(c.supportsTeeAttestation).toBe(m.id.startsWith('e2ee-'));
    }
  });

  it('serves an e2ee-* model TEE-only (plaintext) when the request has no E2EE headers', async () => {
    const res = await chat(sim(), { model: MODEL, messages: [{ role: 'user', content: 'plain in the enclave' }] });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(json.choices[0]!.message.content).toContain('plain in the enclave');
  });
});

describe('E2EE chat fidelity', () => {
  const sim = useSim();

  const encrypted = (messages: { role: string; content: string | null }[]) => {
    const session = createE2eeSession(sim().enclavePublicKeyHex(MODEL));
    return { session, messages: session.encryptMessages(messages) };
  };

  it('refuses a plaintext assistant turn (like user and system) with "Encrypted field is not valid hex"', async () => {
    const { session, messages } = encrypted([
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'second question' },
    ]);
    const plainAssistant = messages.map((m, i) => (i === 1 ? { role: 'assistant', content: 'first answer' } : m));
    const res = await chat(sim(), { model: MODEL, stream: true, messages: plainAssistant }, session.headers());
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'Encrypted field is not valid hex' });

    for (const role of ['user', 'system', 'developer']) {
      const plain = [...messages.slice(0, 2), { role, content: 'in the clear' }];
      const r = await chat(sim(), { model: MODEL, stream: true, messages: plain }, session.headers());
      expect(r.status, role).toBe(400);
      expect(await r.json()).toMatchObject({ error: 'Encrypted field is not valid hex' });
    }

    // The same conversation with every turn encrypted passes.
    const ok = await chat(sim(), { model: MODEL, stream: true, messages }, session.headers());
    expect(ok.status).toBe(200);
    let text = '';
    for await (const c of session.decryptSseStream(ok.body!)) text += c.content;
    expect(text).toContain('second question');
  });

  it('accepts an assistant turn without content (a tool-call turn) and tool results in plaintext', async () => {
    const { session, messages } = encrypted([{ role: 'user', content: 'use the tool' }]);
    const turns = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '42' },
    ];
    const res = await chat(sim(), { model: MODEL, stream: true, messages: turns }, session.headers());
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it('drops tools under E2EE like Venice\'s gateway: no tool calls, encrypted text only', async () => {
    const { session, messages } = encrypted([{ role: 'user', content: 'what is the weather' }]);
    const tools = [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }];
    const res = await chat(sim(), { model: MODEL, stream: true, messages, tools, tool_choice: 'required' }, session.headers());
    expect(res.status).toBe(200);
    const events = await sseData(res);
    expect(events.at(-1)).toBe('[DONE]');
    for (const e of events.slice(0, -1)) {
      const delta = (JSON.parse(e) as { choices: { delta: Record<string, unknown> }[] }).choices[0]?.delta ?? {};
      expect(delta).not.toHaveProperty('tool_calls');
      if (typeof delta.content === 'string' && delta.content !== '') expect(session.decryptContent(delta.content)).toBeTypeOf('string');
    }
  });
});
