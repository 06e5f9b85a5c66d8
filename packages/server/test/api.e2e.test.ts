// End to end over HTTP: real Anvil + CreditPool, real proofs (native bb), real store, the
// Venice-compatible simulator upstream. Runs once per store implementation.
import { CHAT_PATH, encodeCredential, toFieldHex, FIELD_MODULUS, type Credential } from '@zkcredits/core';
import { assertAttested, createE2eeSession, fetchAttestation, fetchPcsCollateral } from '@zkcredits/attest';
import { verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import type { VeniceSim } from '@zkcredits/venice-sim';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORE_KINDS } from './helpers/stores.js';
import { chatBody, E2EE_MODEL, errorOf, MAX_TOKENS, MODEL, SIM_KEY, startStack, type Stack } from './helpers/stack.js';

describe.each(STORE_KINDS)('chat completions with %s', (kind) => {
  let s: Stack;
  let credits: Credential[];
  let next = 0;
  const credit = () => credits[next++]!;

  beforeAll(async () => {
    s = await startStack(kind);
    credits = await s.buyCredits(16);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('serves a non-streaming completion paid by a proof, then refuses the same credit', async () => {
    const body = chatBody('pay per call');
    const zk = await s.prove(credit(), body);
    const res = await s.post({ ...body, zkcredits: zk });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(json.object).toBe('chat.completion');
    expect(json.choices[0]!.message.content).toContain('pay per call');
    // the upstream got the body without the proof, and the server's key, not the client's
    const seen = s.sim.state.lastRequest!;
    expect(seen.body).not.toHaveProperty('zkcredits');
    expect((seen.body as Record<string, unknown>).messages).toEqual(body.messages);

    const again = await s.post({ ...body, zkcredits: zk });
    expect(await errorOf(again)).toMatchObject({ status: 402, code: 'credit_spent', type: 'insufficient_quota' });
  });

  it('streams a completion chunk by chunk as server-sent events', async () => {
    const body = chatBody('stream these words please', { stream: true });
    const res = await s.post({ ...body, zkcredits: await s.prove(credit(), body) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.length).toBeGreaterThan(3);
    expect(events.at(-1)).toBe('data: [DONE]');
    const words = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(words).toContain('stream these words please');
  });

  it('works with the official openai client, changing only the base URL (stream and not)', async () => {
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused-in-proof-mode', maxRetries: 0 });
    const params = { model: MODEL, messages: [{ role: 'user' as const, content: 'via the sdk' }], max_tokens: 8 };
    const zk = await s.prove(credit(), params);
    const completion = await client.chat.completions.create({ ...params, zkcredits: zk } as never);
    expect((completion as OpenAI.ChatCompletion).choices[0]!.message.content).toContain('via the sdk');

    const sparams = { ...params, stream: true as const };
    const szk = await s.prove(credit(), sparams);
    const stream = await client.chat.completions.create({ ...sparams, zkcredits: szk } as never);
    let text = '';
    for await (const chunk of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain('via the sdk');

    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain(MODEL);

    const err = await client.chat.completions.create({ ...params, zkcredits: zk } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('credit_spent');
  });

  it('serves exactly one of 50 concurrent requests carrying the same proof', async () => {
    const body = chatBody('race');
    const zk = await s.prove(credit(), body);
    const before = s.sim.state.chatRequestCount;
    const responses = await Promise.all(Array.from({ length: 50 }, () => s.post({ ...body, zkcredits: zk })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((x) => x === 200)).toHaveLength(1);
    const codes = await Promise.all(responses.filter((r) => r.status !== 200).map(async (r) => (await errorOf(r)).code));
    expect(new Set(codes)).toEqual(new Set(codes.filter((c) => c === 'credit_spent' || c === 'credit_in_use')));
    expect(s.sim.state.chatRequestCount - before).toBe(1);
  });

  it('refuses the same nullifier in another encoding, and a non-canonical one', async () => {
    const body = chatBody('encodings');
    const zk = await s.prove(credit(), body);
    expect((await s.post({ ...body, zkcredits: zk })).status).toBe(200);
    const upper = { ...zk, nullifier_hash: `0x${zk.nullifier_hash.slice(2).toUpperCase()}` };
    expect(await errorOf(await s.post({ ...body, zkcredits: upper }))).toMatchObject({ status: 402, code: 'credit_spent' });
    const plusP = { ...zk, nullifier_hash: toFieldHex(0n).replace(/0+$/, '') + (BigInt(zk.nullifier_hash) + FIELD_MODULUS).toString(16) };
    expect(await errorOf(await s.post({ ...body, zkcredits: plusP }))).toMatchObject({ status: 400, code: 'invalid_field' });
    const short = { ...zk, nullifier_hash: `0x${BigInt(zk.nullifier_hash).toString(16)}`.replace(/^0x0+/, '0x').slice(0, 40) };
    expect(await errorOf(await s.post({ ...body, zkcredits: short }))).toMatchObject({ status: 400, code: 'invalid_field', param: 'zkcredits.nullifier_hash' });
  });

  it('refuses a proof bound to a different body, without spending the credit', async () => {
    const c = credit();
    const proved = chatBody('the body I proved');
    const zk = await s.prove(c, proved);
    const tampered = { ...proved, messages: [{ role: 'user', content: 'a different body' }] };
    expect(await errorOf(await s.post({ ...tampered, zkcredits: zk }))).toMatchObject({ status: 401, code: 'invalid_proof' });
    // a key order change is the same JCS body: still valid, and the credit was not spent above
    const reordered = { zkcredits: zk, max_tokens: proved.max_tokens, messages: proved.messages, model: proved.model };
    expect((await s.post(reordered)).status).toBe(200);
  });

  it('refuses unknown and expired roots with different errors', async () => {
    const body = chatBody('roots');
    const c = credit();
    const zk = await s.prove(c, body);
    const unknown = { ...zk, root: toFieldHex(12345n) };
    expect(await errorOf(await s.post({ ...body, zkcredits: unknown }))).toMatchObject({ status: 403, code: 'unknown_root', param: 'zkcredits.root' });
    // 64 more purchases push the proof's root out of the ring of the last 64 roots
    for (let i = 0; i < 64; i++) await s.chain.buy([BigInt(7_000_000 + i)]);
    for (let i = 0; i < 64; i++) s.tree.insert(BigInt(7_000_000 + i));
    await s.waitIndexed(s.tree.size);
    expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 403, code: 'expired_root' });
    // the same credit proved against a current root is still good
    expect((await s.post({ ...body, zkcredits: await s.prove(c, body) })).status).toBe(200);
  });

  it('answers malformed input with typed errors', async () => {
    const body = chatBody('malformed');
    const zk = await s.prove(credit(), body);
    expect(await errorOf(await s.post('{"model": '))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(await errorOf(await s.post(body))).toMatchObject({ status: 401, code: 'missing_credit' });
    expect(await errorOf(await s.post(body, { authorization: 'Basic Zm9vOmJhcg==' }))).toMatchObject({ status: 401, code: 'missing_credit' });
    expect(await errorOf(await s.post(body, { authorization: 'Bearer zkc1notachecksummedkey' }))).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(await errorOf(await s.post({ ...body, zkcredits: 'nope' }))).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    expect(await errorOf(await s.post({ ...body, zkcredits: { ...zk, proof: '!!!' } }))).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    expect(await errorOf(await s.post({ ...body, zkcredits: { ...zk, extra: 1 } }))).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    const flipped = Buffer.from(zk.proof, 'base64');
    flipped[100] = flipped[100]! ^ 1;
    expect(await errorOf(await s.post({ ...body, zkcredits: { ...zk, proof: flipped.toString('base64') } }))).toMatchObject({ status: 401, code: 'invalid_proof' });
    const huge = chatBody('x'.repeat(s.config.limits.maxBodyBytes + 10));
    expect(await errorOf(await s.post({ ...huge, zkcredits: zk }))).toMatchObject({ status: 413, code: 'body_too_large' });
    const res = await fetch(`${s.url}${CHAT_PATH}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(await errorOf(res)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    expect(await errorOf(await s.post({ ...body, model: 'gpt-5', zkcredits: zk }))).toMatchObject({ status: 400, code: 'model_not_allowed', param: 'model' });
    expect(await errorOf(await s.post({ ...body, max_tokens: MAX_TOKENS + 1, zkcredits: zk }))).toMatchObject({ status: 400, code: 'max_tokens_exceeded', param: 'max_tokens' });
    expect(await errorOf(await s.post({ ...body, n: 3, zkcredits: zk }))).toMatchObject({ status: 400, code: 'invalid_request', param: 'n' });
    expect(await errorOf(await fetch(`${s.url}/v1/nope`))).toMatchObject({ status: 404, code: 'not_found' });
    const deep = `${JSON.stringify({ ...body, zkcredits: zk }).slice(0, -1)},"response_format":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(await errorOf(await s.post(deep))).toMatchObject({ status: 400, code: 'invalid_request' });
    // after all that, the credit is still spendable
    expect((await s.post({ ...body, zkcredits: zk })).status).toBe(200);
  });

  it('spends the credit of a client that leaves after its request reached the provider', async () => {
    // Otherwise one credit could buy unlimited provider work by disconnecting before the answer.
    const body = chatBody('leaves early');
    const zk = await s.prove(credit(), body);
    // The provider never answers: the client leaving is what ends the request.
    s.sim.faults.once('hang', { route: 'chat' });
    const before = s.sim.state.chatRequestCount;
    const gone = new AbortController();
    const pending = s.post({ ...body, zkcredits: zk }, {}, gone.signal).catch(() => undefined);
    while (s.sim.state.chatRequestCount === before) await new Promise((r) => setTimeout(r, 10));
    gone.abort();
    await pending;
    const nullifierHash = BigInt(zk.nullifier_hash);
    while ((await s.server.store.nullifierState(nullifierHash, Date.now())) === 'reserved') await new Promise((r) => setTimeout(r, 10));
    expect(await s.server.store.nullifierState(nullifierHash, Date.now())).toBe('spent');
    expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 402, code: 'credit_spent' });
  });

  it('keeps the credit when the upstream fails with 5xx or is busy, streaming or not', async () => {
    const body = chatBody('upstream trouble');
    const zk = await s.prove(credit(), body);
    s.sim.faults.once('status:503');
    expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 502, code: 'upstream_error' });
    s.sim.faults.once('status:429');
    const busy = await s.post({ ...body, zkcredits: zk });
    expect(busy.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(busy)).toMatchObject({ status: 503, code: 'upstream_busy' });
    const sbody = chatBody('upstream trouble', { stream: true });
    const szk = await s.prove(credit(), sbody);
    s.sim.faults.once('status:500');
    expect(await errorOf(await s.post({ ...sbody, zkcredits: szk }))).toMatchObject({ status: 502, code: 'upstream_error' });
    // both credits are still good
    expect((await s.post({ ...body, zkcredits: zk })).status).toBe(200);
    const ok = await s.post({ ...sbody, zkcredits: szk });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('[DONE]');
  });

  it('passes client-encrypted (E2EE) bodies and Venice E2EE headers through untouched', async () => {
    const session = await e2eeSession(s.sim, { baseUrl: s.sim.apiBaseUrl, apiKey: 'sim-upstream-key' });
    const messages = session.encryptMessages([{ role: 'user', content: 'secret prompt' }]);
    const headers = session.headers();
    const body = { model: E2EE_MODEL, messages, stream: true, max_tokens: 16 };
    const zk = await s.prove(credit(), body, headers);
    // The E2EE headers are bound into the request hash: the same proof with another client key is refused.
    const other = await e2eeSession(s.sim, { baseUrl: s.sim.apiBaseUrl, apiKey: 'sim-upstream-key' });
    const hijack = await s.post({ ...body, zkcredits: zk }, other.headers());
    expect(hijack.status).toBe(401);
    expect((await hijack.json()).error.code).toBe('invalid_proof');
    const res = await s.post({ ...body, zkcredits: zk }, headers);
    expect(res.status).toBe(200);
    // Only the content type and the TEE signature come back: never the operator's account data.
    expect(res.headers.get('x-venice-balance-usd')).toBeNull();
    let answer = '';
    for await (const chunk of session.decryptSseStream(res.body!)) answer += (chunk as { content?: string }).content ?? '';
    expect(answer).toContain('secret prompt');
    const seen = s.sim.state.lastRequest!;
    expect(seen.e2ee).toBe(true);
    expect((seen.body as { messages: unknown }).messages).toEqual(messages);
    for (const [k, v] of Object.entries(headers)) expect(seen.headers[k.toLowerCase()]).toBe(v);
  });

  it('serves the TEE attestation through the server, then an E2EE chat paid by a proof', async () => {
    // The client talks only to our server: no provider key, its address never reaches the provider.
    const seen: { url: string; headers: Headers }[] = [];
    const session = await e2eeSession(s.sim, {
      baseUrl: `${s.url}/v1`,
      fetch: async (url, init) => {
        const res = await fetch(url, { ...init, headers: { ...init?.headers, 'x-forwarded-for': '198.51.100.23' } });
        seen.push({ url, headers: res.headers });
        return res;
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url.startsWith(`${s.url}/v1/tee/attestation?`)).toBe(true);
    expect(seen[0]!.headers.get('cache-control')).toBe('no-store');
    expect(seen[0]!.headers.get('ratelimit-policy')).toBeTruthy();
    const upstream = s.sim.state.requests.filter((r) => r.path === '/api/v1/tee/attestation').at(-1)!;
    expect(upstream.query).toEqual({ model: E2EE_MODEL, nonce: new URL(seen[0]!.url).searchParams.get('nonce') });
    expect(upstream.headers.authorization).toBe(`Bearer ${SIM_KEY}`);
    expect(upstream.headers['x-forwarded-for']).toBeUndefined();

    const messages = session.encryptMessages([{ role: 'user', content: 'attested through zkcredits' }]);
    const body = { model: E2EE_MODEL, messages, stream: true, max_tokens: 16 };
    const res = await s.post({ ...body, zkcredits: await s.prove(credit(), body, session.headers()) }, session.headers());
    expect(res.status).toBe(200);
    let answer = '';
    for await (const chunk of session.decryptSseStream(res.body!)) answer += (chunk as { content?: string }).content ?? '';
    expect(answer).toContain('attested through zkcredits');
    expect(s.sim.state.lastRequest!.e2ee).toBe(true);
    expect(s.sim.state.lastRequest!.encryptedFields).toBe(1);
  });

  it('refuses attestation requests with a bad nonce or model before calling the provider', async () => {
    const nonce = 'ab'.repeat(32);
    const attest = (query: string, init?: RequestInit) => fetch(`${s.url}/v1/tee/attestation?${query}`, init);
    const calls = () => s.sim.state.requests.filter((r) => r.path === '/api/v1/tee/attestation').length;
    const before = calls();
    for (const bad of ['', 'nonce=', `nonce=${nonce.slice(1)}`, `nonce=${nonce}a`, `nonce=${'zz'.repeat(32)}`, `nonce=0x${nonce.slice(2)}`, `nonce=${nonce}&nonce=${nonce}`]) {
      const res = await attest(`model=${E2EE_MODEL}&${bad}`);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await errorOf(res)).toMatchObject({ status: 400, code: 'invalid_nonce', type: 'invalid_request_error', param: 'nonce' });
    }
    expect(await errorOf(await attest(`model=gpt-5&nonce=${nonce}`))).toMatchObject({ status: 400, code: 'model_not_allowed', param: 'model' });
    expect(await errorOf(await attest(`nonce=${nonce}`))).toMatchObject({ status: 400, code: 'invalid_request', param: 'model' });
    expect(await errorOf(await attest(`model=${E2EE_MODEL}&nonce=${nonce}`, { method: 'POST' }))).toMatchObject({ status: 405, code: 'method_not_allowed' });
    expect(calls()).toBe(before);
    // allow-listed, but the provider has no enclave for it
    expect(await errorOf(await attest(`model=${MODEL}&nonce=${nonce}`))).toMatchObject({ status: 400, code: 'model_not_attestable', param: 'model' });
  });

  it('maps attestation provider failures to typed errors, and passes the provider JSON through', async () => {
    const nonce = 'cd'.repeat(32);
    const attest = () => fetch(`${s.url}/v1/tee/attestation?model=${E2EE_MODEL}&nonce=${nonce}`);
    s.sim.faults.once('status:500', { route: 'attestation' });
    expect(await errorOf(await attest())).toMatchObject({ status: 502, code: 'upstream_error', type: 'upstream_error' });
    s.sim.faults.once('status:429', { route: 'attestation' });
    const busy = await attest();
    expect(busy.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorOf(busy)).toMatchObject({ status: 503, code: 'upstream_busy' });
    // healthy again: the JSON is the provider's, field for field (nonce echoed as sent)
    const ok = await attest();
    expect(ok.status).toBe(200);
    const json = (await ok.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ nonce, model: E2EE_MODEL, verified: true });
    // the same members in the same order as the provider's own answer (each answer has a fresh quote)
    const direct = (await (await fetch(`${s.sim.apiBaseUrl}/tee/attestation?model=${E2EE_MODEL}&nonce=${nonce}`)).json()) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(Object.keys(direct));
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['intel_quote', 'signing_key', 'signing_address', 'server_verification', 'nvidia_payload']));
  });

  it('serves a request paid with a credential as bearer API key (server-side proof)', async () => {
    const c = credit();
    const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: encodeCredential(c), maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'api key mode' }], max_tokens: 8 });
    expect(completion.choices[0]!.message.content).toContain('api key mode');
    const err = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'again' }] }).catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    const unknown = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: encodeCredential({ nullifier: 5n, secret: 7n }), maxRetries: 0 });
    const e2 = await unknown.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((e2 as InstanceType<typeof OpenAI.APIError>).code).toBe('credential_not_found');
  });

  it('publishes config, circuit, leaves and accepted roots', async () => {
    const cfg = (await (await fetch(`${s.url}/v1/zkcredits/config`)).json()) as Record<string, unknown>;
    expect(cfg).toMatchObject({ chain_id: s.chain.chainId, contract: s.chain.pool.toLowerCase(), tree_depth: 20, root_history_size: 64, price_per_credit: '1000000' });
    const circuit = await fetch(`${s.url}/v1/zkcredits/circuit`);
    expect(circuit.headers.get('cache-control')).toContain('public');
    expect(((await circuit.json()) as { bytecode: string }).bytecode.length).toBeGreaterThan(100);
    const etag = circuit.headers.get('etag')!;
    expect((await fetch(`${s.url}/v1/zkcredits/circuit`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const page = (await (await fetch(`${s.url}/v1/zkcredits/leaves?from=3&limit=5`)).json()) as { from: number; count: number; total: number; root: string; leaves: string };
    expect(page).toMatchObject({ from: 3, count: 5, total: s.tree.size, root: toFieldHex(s.tree.root) });
    const bytes = Buffer.from(page.leaves, 'base64');
    expect(bytes.length).toBe(160);
    expect(BigInt(`0x${bytes.subarray(0, 32).toString('hex')}`)).toBe(s.tree.leaves(3)[0]);
    const bin = await fetch(`${s.url}/v1/zkcredits/leaves?from=${s.tree.size - 2}`, { headers: { accept: 'application/octet-stream' } });
    expect(Buffer.from(await bin.arrayBuffer()).length).toBe(64);
    expect(await errorOf(await fetch(`${s.url}/v1/zkcredits/leaves?from=-1`))).toMatchObject({ status: 400, param: 'from' });

    const roots = (await (await fetch(`${s.url}/v1/zkcredits/roots`)).json()) as { current: string; accepted: string[]; window: number };
    expect(roots.current).toBe(toFieldHex(s.tree.root));
    expect(roots.accepted).toHaveLength(64);
    expect(await s.chain.client.readContract({ address: s.chain.pool, abi: [{ type: 'function', name: 'currentRoot', inputs: [], outputs: [{ type: 'uint256' }], stateMutability: 'view' }] as const, functionName: 'currentRoot' })).toBe(BigInt(roots.current));
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(200);
    // Unmatched requests (404s, CORS preflights, rate-limited calls) never become route labels.
    const junk = `/v1/junk-${Date.now()}`;
    await fetch(`${s.url}${junk}`);
    await fetch(`${s.url}${junk}`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    const metrics = await (await fetch(`${s.server.metricsUrl}/metrics`)).text();
    expect(metrics).not.toContain(junk);
    expect(metrics).toMatch(/^zkc_ready 1$/m);
    expect(metrics).toMatch(/zkc_credits_total\{outcome="spent",code=""\} \d+/);
    expect(metrics).toMatch(/zkc_credits_total\{outcome="released",code="upstream_error"\} [1-9]/);
    expect(metrics).toContain('zkc_proof_verify_seconds_bucket');
    expect(metrics).toMatch(/zkc_tree_leaves \d+/);
  });

  it('sends security headers and no CORS grant to unlisted origins', async () => {
    const res = await fetch(`${s.url}/v1/models`, { headers: { origin: 'https://evil.example' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('never logs prompts, answers, proofs or credentials', async () => {
    const text = s.logs.text;
    expect(text.length).toBeGreaterThan(0);
    for (const secret of ['pay per call', 'stream these words', 'via the sdk', 'secret prompt', 'attested through zkcredits', 'api key mode', 'zkc1', 'sim-upstream-key']) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/[A-Za-z0-9+/]{200,}/); // no base64 proof
  });
});

// A provider that never answers, against a server with short provider timeouts: the timeout is the
// only way such a request can end, however fast or slow the machine.

/**
 * An E2EE session to the sim's enclave, the way a client opens one: fetch the attestation from
 * `baseUrl` (the sim, or our server in front of it), verify it at level dcap trusting only the sim's
 * test root with collateral from the sim's PCS routes, then encrypt to the attested key.
 */
async function e2eeSession(
  sim: VeniceSim,
  opts: { baseUrl: string; apiKey?: string; fetch?: (url: string, init?: RequestInit) => Promise<Response> },
) {
  const { response, nonce } = await fetchAttestation({
    baseUrl: opts.baseUrl,
    model: E2EE_MODEL,
    ...(opts.apiKey ? { headers: { authorization: `Bearer ${opts.apiKey}` } } : {}),
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const collateral = (q: { fmspc: string; ca: 'platform' | 'processor' }) =>
    fetchPcsCollateral({ pcsUrl: sim.pcsUrl, rootCaCrlUrl: sim.rootCaCrlUrl, ...q });
  const report = await verifyAttestationWithRoot(response, { nonce, model: E2EE_MODEL, collateral }, sim.attestationRootCaDer);
  return createE2eeSession(assertAttested(report));
}

describe('provider timeouts', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack('sqlite', {
      env: { ZKC_UPSTREAM_HEADERS_TIMEOUT_MS: '300', ZKC_UPSTREAM_IDLE_TIMEOUT_MS: '300', ZKC_UPSTREAM_TIMEOUT_MS: '10000' },
    });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('keeps the credit when the provider does not answer in time, streaming or not', async () => {
    const [a, b] = await s.buyCredits(2);
    const body = chatBody('provider asleep');
    const zk = await s.prove(a!, body);
    s.sim.faults.once('hang');
    expect(await errorOf(await s.post({ ...body, zkcredits: zk }))).toMatchObject({ status: 504, code: 'upstream_timeout' });
    const sbody = chatBody('provider asleep', { stream: true });
    const szk = await s.prove(b!, sbody);
    s.sim.faults.once('hang');
    expect(await errorOf(await s.post({ ...sbody, zkcredits: szk }))).toMatchObject({ status: 504, code: 'upstream_timeout' });
    // Both credits are free again (released, not spent, not held). Serving them here could time
    // out too on a slow machine: a retry is served in the suite above.
    for (const p of [zk, szk]) expect(await s.server.store.nullifierState(BigInt(p.nullifier_hash), Date.now())).toBeNull();
  });

  it('answers upstream_timeout when the attestation service does not answer in time', async () => {
    s.sim.faults.once('hang', { route: 'attestation' });
    const res = await fetch(`${s.url}/v1/tee/attestation?model=${E2EE_MODEL}&nonce=${'cd'.repeat(32)}`);
    expect(await errorOf(res)).toMatchObject({ status: 504, code: 'upstream_timeout' });
  });
});
