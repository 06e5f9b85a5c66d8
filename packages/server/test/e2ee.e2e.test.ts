// E2EE through the server, end to end: which models can do it (from the provider's catalogue),
// a proof pays only for the exact ciphertext and E2EE headers it was made for, and function
// calling is refused on the E2EE path before any credit is reserved.
import { createE2eeSession } from '@zkcredits/attest';
import type { Credential } from '@zkcredits/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2EE_MODEL, errorOf, MODEL, startStack, type Stack } from './helpers/stack.js';

type ModelsAnswer = {
  data: { id: string; zkcredits: { max_tokens_per_credit: number; e2ee: boolean | null; tee_attestation: boolean | null } }[];
};

describe('E2EE through the server', () => {
  let s: Stack;
  let credits: Credential[];
  let next = 0;
  const credit = () => credits[next++]!;

  beforeAll(async () => {
    s = await startStack('sqlite');
    credits = await s.buyCredits(4);
  });
  afterAll(async () => {
    await s?.stop();
  });

  async function decrypt(session: ReturnType<typeof createE2eeSession>, res: Response): Promise<string> {
    let text = '';
    for await (const chunk of session.decryptSseStream(res.body!)) text += chunk.content;
    return text;
  }

  it("GET /v1/models marks E2EE and TEE models from the provider's capabilities", async () => {
    let body: ModelsAnswer | undefined;
    const deadline = Date.now() + 10_000;
    // The catalogue is read in the background at start: unknown (null) until then, never an error.
    for (;;) {
      const res = await fetch(`${s.url}/v1/models`);
      expect(res.status).toBe(200);
      body = (await res.json()) as ModelsAnswer;
      if (body.data.every((m) => m.zkcredits.e2ee !== null)) {
        expect(res.headers.get('cache-control')).toBe('public, max-age=60');
        break;
      }
      expect(res.headers.get('cache-control')).toBe('public, max-age=5');
      if (Date.now() > deadline) throw new Error('model capabilities never became known');
      await new Promise((r) => setTimeout(r, 100));
    }
    const byId = new Map(body.data.map((m) => [m.id, m.zkcredits]));
    expect(byId.get(E2EE_MODEL)).toMatchObject({ e2ee: true, tee_attestation: true, max_tokens_per_credit: expect.any(Number) });
    expect(byId.get(MODEL)).toMatchObject({ e2ee: false, tee_attestation: false });
    expect(s.sim.state.requests.some((r) => r.path === '/api/v1/models')).toBe(true);
  });

  it('A proof made for ciphertext A cannot pay for ciphertext B or for other E2EE headers', async () => {
    const session = createE2eeSession(s.sim.enclavePublicKeyHex(E2EE_MODEL));
    const plain = [{ role: 'user', content: 'the same words, encrypted twice' }];
    const bodyA = { model: E2EE_MODEL, stream: true, max_tokens: 16, messages: session.encryptMessages(plain) };
    const bodyB = { ...bodyA, messages: session.encryptMessages(plain) };
    expect(bodyB.messages).not.toEqual(bodyA.messages);
    const headersH = session.headers();
    const zk = await s.prove(credit(), bodyA, headersH);
    const chatsBefore = s.sim.state.chatRequestCount;

    // Ciphertext B (same plaintext, same headers).
    expect(await errorOf(await s.post({ ...bodyB, zkcredits: zk }, headersH))).toMatchObject({ status: 401, code: 'invalid_proof' });
    // Another client key (a session the attacker controls), and a changed signing algorithm.
    const other = createE2eeSession(s.sim.enclavePublicKeyHex(E2EE_MODEL));
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: zk }, other.headers()))).toMatchObject({ status: 401, code: 'invalid_proof' });
    const otherAlgo = { ...headersH, 'X-Venice-TEE-Signing-Algo': 'ECDSA' };
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: zk }, otherAlgo))).toMatchObject({ status: 401, code: 'invalid_proof' });
    // Without the headers at all.
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: zk }))).toMatchObject({ status: 401, code: 'invalid_proof' });
    expect(s.sim.state.chatRequestCount).toBe(chatsBefore);

    // The credit was not spent: the same proof pays for A with H.
    const ok = await s.post({ ...bodyA, zkcredits: zk }, headersH);
    expect(ok.status).toBe(200);
    expect(await decrypt(session, ok)).toContain('the same words, encrypted twice');
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: zk }, headersH))).toMatchObject({ status: 402, code: 'credit_spent' });
  });

  it('refuses tools, tool_choice and functions on an E2EE request before reserving the credit', async () => {
    const session = createE2eeSession(s.sim.enclavePublicKeyHex(E2EE_MODEL));
    const base = { model: E2EE_MODEL, stream: true, max_tokens: 16, messages: session.encryptMessages([{ role: 'user', content: 'call a tool' }]) };
    const tool = { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } };
    const c = credit();
    const chatsBefore = s.sim.state.chatRequestCount;
    for (const [field, value] of [
      ['tools', [tool]],
      ['tool_choice', 'auto'],
      ['functions', [tool.function]],
    ] as const) {
      const body = { ...base, [field]: value };
      const e = await errorOf(await s.post({ ...body, zkcredits: await s.prove(c, body, session.headers()) }, session.headers()));
      expect(e, field).toMatchObject({ status: 400, code: 'unsupported_parameter', param: field });
      expect(e.message).toMatch(/E2EE gateway drops tools.*plaintext/);
    }
    // venice_parameters.enable_e2ee counts as E2EE too.
    const flagged = { ...base, tools: [tool], venice_parameters: { enable_e2ee: true } };
    expect(await errorOf(await s.post({ ...flagged, zkcredits: await s.prove(c, flagged) }))).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'tools' });
    expect(s.sim.state.chatRequestCount).toBe(chatsBefore);

    // Nothing was reserved or spent: the credit pays for the request without tools.
    const ok = await s.post({ ...base, zkcredits: await s.prove(c, base, session.headers()) }, session.headers());
    expect(ok.status).toBe(200);
    expect(await decrypt(session, ok)).toContain('call a tool');

    // Without E2EE, tools are forwarded as before (TEE-only flow on the same model id).
    const plain = { model: E2EE_MODEL, max_tokens: 16, messages: [{ role: 'user', content: 'plain with tools' }], tools: [tool] };
    expect((await s.post({ ...plain, zkcredits: await s.prove(credit(), plain) })).status).toBe(200);
  });
});
