// Who may use the proxy and what it refuses: the local token (401 without it or with another),
// the Host header (DNS rebinding), CORS (none unless listed), routes that do not exist
// (/v1/responses names the chat route), bodies over the limit (413, nothing spent), slow headers;
// and how it stops: a caller going away aborts the upstream call and keeps the credit, close()
// lets requests finish or aborts them after its bound.
import { connect } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL, errorOf, fund, proxyFor, raw, servedStack, type ProxyFixture } from './serve-helpers.js';

const chatBody = (content: string, extra: Record<string, unknown> = {}) => JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], ...extra });

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('zkcredits serve: access, limits, stopping', () => {
  let env: Awaited<ReturnType<typeof servedStack>>;
  let fx: ProxyFixture;
  let host: string;
  let auth: Record<string, string>;

  beforeAll(async () => {
    env = await servedStack();
    await fund(env.stack, env.client, 12);
    fx = await proxyFor(env.client, { maxBodyBytes: 1024 });
    host = `127.0.0.1:${fx.proxy.port}`;
    auth = { host, authorization: `Bearer ${fx.token}` };
  });
  afterAll(async () => {
    await fx?.proxy.close();
    await env?.stop();
  });

  it('no token, another token, another scheme: 401 OpenAI-shaped; the token works in any case of "Bearer"', async () => {
    for (const headers of <Record<string, string>[]>[{ host }, { host, authorization: `Bearer ${fx.token}x` }, { host, authorization: `Basic ${fx.token}` }, { host, authorization: 'Bearer' }, { host, 'x-api-key': fx.token }]) {
      const answer = await raw(fx.proxy, { headers });
      expect(answer.status).toBe(401);
      expect(errorOf(answer)).toMatchObject({ code: 'invalid_api_key', type: 'invalid_request_error' });
      expect(answer.headers['www-authenticate']).toBe('Bearer');
    }
    expect((await raw(fx.proxy, { headers: { host, authorization: `bearer ${fx.token}` } })).status).toBe(200);
    // What SDKs do: the token as their API key.
    await expect(new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: 'not-the-token', maxRetries: 0 }).models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect((await new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: fx.token, maxRetries: 0 }).models.list()).data.length).toBeGreaterThan(0);
  });

  it('a Host that is not the loopback name and port it listens on is refused, token or not (DNS rebinding)', async () => {
    const port = fx.proxy.port;
    for (const h of [`localhost:${port}`, `[::1]:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
      expect((await raw(fx.proxy, { headers: { ...auth, host: h } })).status).toBe(200);
    }
    for (const h of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost.evil.example:${port}`, `127.0.0.2:${port}`]) {
      const answer = await raw(fx.proxy, { headers: { ...auth, host: h } });
      expect(answer.status).toBe(403);
      expect(errorOf(answer)).toMatchObject({ code: 'host_not_allowed' });
      expect(errorOf(answer).message).toMatch(/DNS rebinding/);
    }
    // A name the user allowed (`--allow-host`).
    const other = await proxyFor(env.client, { allowHosts: ['my-box.lan', 'proxy.example:8443'] });
    try {
      const ok = { authorization: `Bearer ${other.token}` };
      expect((await raw(other.proxy, { headers: { ...ok, host: `my-box.lan:${other.proxy.port}` } })).status).toBe(200);
      expect((await raw(other.proxy, { headers: { ...ok, host: 'proxy.example:8443' } })).status).toBe(200);
      expect((await raw(other.proxy, { headers: { ...ok, host: `proxy.example:${other.proxy.port}` } })).status).toBe(403);
    } finally {
      await other.proxy.close();
    }
  });

  it('no CORS headers unless origins are listed; listed ones get them, preflight included', async () => {
    const origin = 'http://localhost:3000';
    const plain = await raw(fx.proxy, { headers: { ...auth, origin } });
    expect(plain.status).toBe(200);
    expect(Object.keys(plain.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
    const preflight = await raw(fx.proxy, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { host, origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    expect(preflight.status).toBe(403);
    expect(Object.keys(preflight.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);

    const withCors = await proxyFor(env.client, { cors: [origin] });
    try {
      const h = `127.0.0.1:${withCors.proxy.port}`;
      const ok = await raw(withCors.proxy, { method: 'OPTIONS', path: '/v1/chat/completions', headers: { host: h, origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' } });
      expect(ok.status).toBe(204);
      expect(ok.headers).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-headers': 'authorization, content-type, x-stainless-os' });
      expect(ok.headers['access-control-allow-methods']).toContain('POST');
      const answer = await raw(withCors.proxy, { headers: { host: h, origin, authorization: `Bearer ${withCors.token}` } });
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect(answer.headers['access-control-expose-headers']).toContain('x-zkcredits-credits-left');
      const stranger = await raw(withCors.proxy, { method: 'OPTIONS', path: '/v1/models', headers: { host: h, origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
      expect(stranger.status).toBe(403);
      expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
      // The token is still needed behind CORS.
      expect((await raw(withCors.proxy, { headers: { host: h, origin } })).status).toBe(401);
    } finally {
      await withCors.proxy.close();
    }
  });

  it('/v1/responses is a 404 naming /v1/chat/completions; other routes 404, other methods 405; nothing spent', async () => {
    const before = await env.client.balance();
    const openai = new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: fx.token, maxRetries: 0 });
    const responses = openai.responses.create({ model: MODEL, input: 'hi' });
    await expect(responses).rejects.toMatchObject({ status: 404, code: 'route_not_supported' });
    await expect(responses).rejects.toThrow(/POST \/v1\/chat\/completions/);
    await expect(responses).rejects.toThrow(/@ai-sdk\/openai-compatible/);
    await expect(openai.embeddings.create({ model: MODEL, input: 'hi' })).rejects.toMatchObject({ status: 404, code: 'route_not_supported' });
    const get = await raw(fx.proxy, { path: '/v1/chat/completions', headers: auth });
    expect(get.status).toBe(405);
    expect(errorOf(get).code).toBe('method_not_allowed');
    const health = await raw(fx.proxy, { path: '/health', headers: auth });
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
    expect(await env.client.balance()).toEqual(before);
  });

  it('a body over the limit is a 413 and spends nothing, declared or streamed in; the connection stays usable', async () => {
    const before = await env.client.balance();
    const chats = env.stack.sim.state.chatRequestCount;
    const paid = env.paid.length;
    const big = chatBody('x'.repeat(2000));
    const declared = await raw(fx.proxy, { method: 'POST', path: '/v1/chat/completions', headers: { ...auth, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) }, body: big });
    expect(declared.status).toBe(413);
    expect(errorOf(declared)).toMatchObject({ code: 'request_too_large' });
    expect(errorOf(declared).message).toMatch(/1024 bytes.*no credit was used/);
    // Chunked, without a length: cut off as it grows.
    const streamed = await raw(fx.proxy, { method: 'POST', path: '/v1/chat/completions', headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
    expect(streamed.status).toBe(413);
    // Through an SDK.
    const openai = new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: fx.token, maxRetries: 0 });
    await expect(openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'y'.repeat(5000) }] })).rejects.toMatchObject({ status: 413, code: 'request_too_large' });
    expect(await env.client.balance()).toEqual(before);
    expect(env.stack.sim.state.chatRequestCount).toBe(chats);
    expect(env.paid.length).toBe(paid);

    // The default limit is 4 MiB.
    const roomy = await proxyFor(env.client);
    try {
      const huge = chatBody('z'.repeat(4 * 1024 * 1024));
      const answer = await fetch(`${roomy.proxy.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${roomy.token}`, 'content-type': 'application/json' }, body: huge });
      expect(answer.status).toBe(413);
      expect(((await answer.json()) as { error: { message: string } }).error.message).toContain(String(4 * 1024 * 1024));
    } finally {
      await roomy.proxy.close();
    }
    expect(await env.client.balance()).toEqual(before);
  });

  it('headers that never finish arriving time out', async () => {
    const slow = await proxyFor(env.client, { headersTimeoutMs: 300 });
    try {
      const socket = connect(slow.proxy.port, '127.0.0.1');
      socket.write(`GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${slow.proxy.port}\r\n`);
      const started = Date.now();
      const text = await new Promise<string>((resolve) => {
        let got = '';
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => resolve(got));
      });
      expect(text).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await slow.proxy.close();
    }
  });

  it('streams pass through chunk by chunk, as the provider sends them', async () => {
    env.stack.sim.faults.always('slow:150');
    try {
      const answer = await fetch(`${fx.proxy.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json' }, body: chatBody('one word at a time please', { stream: true }) });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const arrivals: number[] = [];
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of answer.body!) {
        arrivals.push(Date.now());
        text += decoder.decode(chunk as Uint8Array, { stream: true });
      }
      expect(text).toContain('data: [DONE]');
      // Several separate arrivals spread over the provider's pace, not one buffered block.
      expect(arrivals.length).toBeGreaterThan(3);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(300);
    } finally {
      env.stack.sim.faults.clear();
    }
  });

  it('a caller going away aborts the upstream call; the credit is counted once, by the server’s rule', async () => {
    const before = await env.client.balance();
    const chats = env.stack.sim.state.chatRequestCount;
    const paid = env.paid.length;
    env.stack.sim.faults.once('hang');
    const controller = new AbortController();
    const call = fetch(`${fx.proxy.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${fx.token}`, 'content-type': 'application/json' }, body: chatBody('never answered'), signal: controller.signal });
    await until(() => env.stack.sim.state.chatRequestCount > chats, 'the provider to get the request');
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => fx.events.some((e) => e.type === 'request' && e.aborted === true), 'the proxy to see the caller leave');
    // No answer came: the client keeps the credit as unspent (it cannot know more).
    expect(await env.client.balance()).toEqual(before);
    // The server had forwarded it, so it counts that credit spent (PROTOCOL.md, "How a credit
    // travels"): the next call learns so (credit_spent), marks it, and pays with another.
    const openai = new OpenAI({ baseURL: fx.proxy.baseUrl, apiKey: fx.token, maxRetries: 0 });
    expect((await openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'after the abort' }] })).choices[0]!.message.content).toContain('after the abort');
    const sent = env.paid.slice(paid);
    expect(sent.map((p) => p.status)).toEqual([402, 200]);
    expect(sent[0]!.nullifierHash).not.toBe(sent[1]!.nullifierHash);
    expect(await env.client.balance()).toMatchObject({ spent: before.spent + 2, unspent: before.unspent - 2 });
  });

  it('close() stops accepting and lets a request in flight finish', async () => {
    const graceful = await proxyFor(env.client);
    const chats = env.stack.sim.state.chatRequestCount;
    env.stack.sim.faults.once('delay:1500');
    const call = fetch(`${graceful.proxy.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${graceful.token}`, 'content-type': 'application/json' }, body: chatBody('finish me') });
    await until(() => env.stack.sim.state.chatRequestCount > chats, 'the provider to get the request');
    let closed = false;
    const closing = graceful.proxy.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    await expect(fetch(`${graceful.proxy.baseUrl}/models`, { headers: { authorization: `Bearer ${graceful.token}` } })).rejects.toThrow();
    expect(closed).toBe(false);
    const answer = await call;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain('finish me');
    await closing;
    expect(graceful.events.filter((e) => e.type === 'stopping' || e.type === 'stopped')).toEqual([
      { type: 'stopping', inFlight: 1 },
      { type: 'stopped', aborted: 0 },
    ]);
  });

  it('close() aborts what is still running after its bound', async () => {
    const bounded = await proxyFor(env.client, { closeTimeoutMs: 300 });
    const before = await env.client.balance();
    const chats = env.stack.sim.state.chatRequestCount;
    env.stack.sim.faults.once('hang');
    const call = fetch(`${bounded.proxy.baseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${bounded.token}`, 'content-type': 'application/json' }, body: chatBody('never answered either') });
    await until(() => env.stack.sim.state.chatRequestCount > chats, 'the provider to get the request');
    const started = Date.now();
    await bounded.proxy.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect(call).rejects.toThrow();
    expect(bounded.events).toContainEqual({ type: 'stopped', aborted: 1 });
    await until(() => bounded.events.some((e) => e.type === 'request'), 'the aborted request to be reported');
    expect(await env.client.balance()).toEqual(before);
  });
});
