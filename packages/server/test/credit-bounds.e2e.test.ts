// One credit buys exactly what it says (issue: hardening): bodies the request hash cannot canonicalise
// get a typed 400, only allow-listed fields reach the provider, the input a credit carries is bounded,
// repeated provider failures cool a credit down instead of buying unlimited provider calls, and
// API-key mode proves only after it holds the credit.
import { CHAT_PATH, credentialNullifierHash, encodeCredential } from '@zkcredits/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProofPools } from '../src/proof/node.js';
import { createProofPools } from '../src/proof/node.js';
import { loadConfig } from '../src/config.js';
import { estimateInputTokens } from '../src/routes/chat-request.js';
import { MODEL, chatBody, errorOf, startStack, type Stack, minimalEnv } from './helpers/stack.js';

const INPUT_CAP = 2000;

describe('what one credit buys', () => {
  let s: Stack;
  let real: ProofPools;
  let proofsMade = 0;
  /** The next server-side proof comes out damaged, as from a broken prover backend. */
  let damageNextProof = false;
  let clock = 1_800_000_000_000;

  beforeAll(async () => {
    real = await createProofPools(loadConfig({ ...minimalEnv(), ZKC_VERIFIERS: '1' }), { prover: true });
    const pools: ProofPools = {
      ...real,
      prover: {
        async prove(witness: Parameters<NonNullable<ProofPools['prover']>['prove']>[0]) {
          proofsMade++;
          const built = await real.prover!.prove(witness);
          if (!damageNextProof) return built;
          damageNextProof = false;
          const proof = built.proof.slice();
          proof[proof.length - 1]! ^= 1;
          return { ...built, proof };
        },
      } as ProofPools['prover'],
      destroy: async () => {},
    };
    s = await startStack('sqlite', {
      pools,
      now: () => clock,
      env: {
        ZKC_MODELS: `${MODEL}:64/${INPUT_CAP}`,
        ZKC_VENICE_PARAMETERS: 'include_venice_system_prompt',
        ZKC_RELEASES_BEFORE_COOLDOWN: '3',
        ZKC_API_KEY_MODE: 'true',
        // A held request stays held until the test lets go of it.
        ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: '120000',
        ZKC_UPSTREAM_IDLE_TIMEOUT_MS: '120000',
        ZKC_UPSTREAM_TIMEOUT_MS: '120000',
        ZKC_RESERVATION_TTL_MS: '180000',
      },
    });
  });
  afterAll(async () => {
    await s?.stop();
    await real?.destroy();
  });

  const spent = (credential: { nullifier: bigint }) => s.server.store.nullifierState(credentialNullifierHash(credential as never), clock);

  it('answers a body with a number JSON cannot represent (1e400) with 400 invalid_request, no stack trace logged', async () => {
    const before = s.logs.lines.length;
    const raw = `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"temperature":1e400}`;
    expect(await errorOf(await s.post(raw))).toMatchObject({ status: 400, code: 'invalid_request' });
    const [c] = await s.buyCredits(1);
    const zk = await s.prove(c!, chatBody('finite'));
    const withProof = `${raw.slice(0, -1)},"zkcredits":${JSON.stringify(zk)}}`;
    expect(await errorOf(await s.post(withProof))).toMatchObject({ status: 400, code: 'invalid_request' });
    const logged = s.logs.lines.slice(before).map((l) => JSON.parse(l) as { level: number; err?: { stack?: string } });
    expect(logged.filter((l) => l.level >= 40)).toEqual([]);
    expect(logged.some((l) => l.err?.stack)).toBe(false);
    expect(await spent(c!)).toBeNull();
  });

  it('forwards allow-listed fields only: unknown fields and Venice parameters the operator did not enable are refused, identifiers are dropped', async () => {
    const [c] = await s.buyCredits(1);
    const search = chatBody('search the web', { venice_parameters: { enable_web_search: 'on' } });
    expect(await errorOf(await s.post({ ...search, zkcredits: await s.prove(c!, search) }))).toMatchObject({
      status: 400,
      code: 'unsupported_parameter',
      param: 'venice_parameters.enable_web_search',
    });
    const odd = chatBody('odd field', { web_search_options: {} });
    expect(await errorOf(await s.post({ ...odd, zkcredits: await s.prove(c!, odd) }))).toMatchObject({ status: 400, code: 'unsupported_parameter', param: 'web_search_options' });
    expect(await spent(c!)).toBeNull(); // refused before anything was reserved

    const fine = chatBody('allowed', { user: 'alice@example.com', temperature: 0.5, venice_parameters: { include_venice_system_prompt: false } });
    const before = s.sim.state.chatRequestCount;
    expect((await s.post({ ...fine, zkcredits: await s.prove(c!, fine) })).status).toBe(200);
    expect(s.sim.state.chatRequestCount).toBe(before + 1);
    const sent = s.sim.state.lastRequest!.body as Record<string, unknown>;
    expect(sent.user).toBeUndefined();
    expect(sent.zkcredits).toBeUndefined();
    expect(sent.temperature).toBe(0.5);
    expect(sent.venice_parameters).toEqual({ include_venice_system_prompt: false });
  });

  it('refuses more input than one credit buys (a 60,000-token prompt), spending nothing, and publishes both limits', async () => {
    const [c] = await s.buyCredits(1);
    const long = chatBody('word '.repeat(60_000));
    expect(await errorOf(await s.post({ ...long, zkcredits: await s.prove(c!, long) }))).toMatchObject({ status: 400, code: 'input_tokens_exceeded', param: 'messages' });
    expect(await spent(c!)).toBeNull();
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string; zkcredits: Record<string, number> }[] };
    expect(models.data[0]!.zkcredits).toMatchObject({ max_tokens_per_credit: 64, max_input_tokens_per_credit: INPUT_CAP });
    const config = (await (await fetch(`${s.url}/v1/zkcredits/config`)).json()) as { models: Record<string, unknown>[] };
    expect(config.models[0]).toMatchObject({ id: MODEL, max_tokens_per_credit: 64, max_input_tokens_per_credit: INPUT_CAP });
  });

  it('estimates E2EE content by the plaintext its ciphertext implies, not its hex length', () => {
    const plaintextBytes = 1000;
    const ciphertextHex = 'ab'.repeat(93 + plaintextBytes); // ephemeral key + nonce + tag + ciphertext
    const body = { messages: [{ role: 'user', content: ciphertextHex }] };
    const plain = estimateInputTokens({ messages: [{ role: 'user', content: 'x'.repeat(plaintextBytes) }] }, false);
    expect(estimateInputTokens(body, true)).toBe(plain);
    expect(estimateInputTokens(body, false)).toBeGreaterThan(2 * plaintextBytes);
  });

  it('cools a credit down after its third failed provider call: 429 credit_cooling_down, Retry-After doubling from 1 s', async () => {
    const [c] = await s.buyCredits(1);
    const body = chatBody('provider keeps failing');
    const zk = await s.prove(c!, body);
    s.sim.faults.always('status:500');
    try {
      for (let i = 0; i < 3; i++) expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 502, code: 'upstream_error' });
      const calls = s.sim.state.chatRequestCount;
      let res = await s.post({ ...body, zkcredits: zk });
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await errorOf(res)).toMatchObject({ status: 429, code: 'credit_cooling_down' });
      expect(s.sim.state.chatRequestCount).toBe(calls); // the provider was not called again
      clock += 1000;
      expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 502, code: 'upstream_error' });
      res = await s.post({ ...body, zkcredits: zk });
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await errorOf(res)).toMatchObject({ status: 429, code: 'credit_cooling_down' });
    } finally {
      s.sim.faults.clear();
    }
    clock += 2000;
    expect((await s.post({ ...body, zkcredits: zk })).status).toBe(200); // cooling never spends
  });

  it('in API-key mode reserves the credit before proving: concurrent requests for one credential prove once', async () => {
    const [c] = await s.buyCredits(1);
    const key = encodeCredential(c!);
    s.sim.faults.always('hang'); // whoever wins the credit holds it until the test lets go
    const before = proofsMade;
    const calls = s.sim.state.chatRequestCount;
    const gone = new AbortController();
    const answered: Response[] = [];
    // All at once: none of them holds the credit yet when they arrive.
    const all = Array.from({ length: 8 }, (_, i) =>
      s
        .post(chatBody(`concurrent ${i}`), { authorization: `Bearer ${key}` }, gone.signal)
        .then((r) => void answered.push(r))
        .catch(() => undefined),
    );
    // Seven are refused; the winner proves, then stays with the provider.
    while (answered.length < 7 || s.sim.state.chatRequestCount === calls) await new Promise((r) => setTimeout(r, 10));
    for (const r of answered) expect(await errorOf(r)).toMatchObject({ status: 409, code: 'credit_in_use' });
    expect(s.sim.state.chatRequestCount - calls).toBe(1);
    expect(proofsMade - before).toBe(1);
    s.sim.faults.clear();
    gone.abort();
    await Promise.all(all);
  });

  it('in API-key mode verifies the proof it built: a bad one is proof_backend_unavailable, the provider is not called and the credit stays spendable', async () => {
    const [c] = await s.buyCredits(1);
    const key = encodeCredential(c!);
    const calls = s.sim.state.chatRequestCount;
    damageNextProof = true;
    const res = await s.post(chatBody('prover breaks'), { authorization: `Bearer ${key}` });
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await errorOf(res)).toMatchObject({ status: 503, code: 'proof_backend_unavailable' });
    expect(s.sim.state.chatRequestCount).toBe(calls);
    expect(await spent(c!)).toBeNull();
    expect((await s.post(chatBody('prover mended'), { authorization: `Bearer ${key}` })).status).toBe(200);
    expect(await spent(c!)).toBe('spent');
  });

  it('never answers a fetch of the chat route with a 500 for a body that is not an object', async () => {
    for (const raw of ['[]', '"x"', '1e400', 'null', '{"model":1e400,"messages":[]}']) {
      const res = await fetch(`${s.url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
      expect(res.status).toBe(400);
    }
  });
});
