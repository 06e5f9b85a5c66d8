import { describe, expect, it } from 'vitest';
import { FaultSyntaxError, parseFault } from '../src/index.js';
import { chat, useSim } from './helpers.js';

const body = { model: 'venice-uncensored', messages: [{ role: 'user', content: 'one two three four five' }] };
const stream = { ...body, stream: true };

describe('fault injection', () => {
  const sim = useSim();

  it('status:500 answers 500 with a Venice error body', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'status:500' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'Inference processing failed' });
    expect(sim().state.lastRequest?.fault).toEqual({ status: 500 });
  });

  it('status:429 answers 429 with zero remaining requests in the rate-limit headers', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'status:429' });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: 'Rate limit exceeded' });
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(res.headers.get('x-ratelimit-reset-requests'))).toBeGreaterThan(Date.now() / 1000 - 1);
  });

  it('delay holds the first byte back: a client deadline shorter than the delay aborts', async () => {
    await expect(chat(sim(), body, { 'x-sim-fault': 'delay:3000' }, { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    const ok = await chat(sim(), body, { 'x-sim-fault': 'delay:20' });
    expect(ok.status).toBe(200);
  });

  it('slow still delivers the complete stream', async () => {
    const res = await chat(sim(), stream, { 'x-sim-fault': 'slow:5' });
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text.split('\n\n').filter(Boolean)).toHaveLength(1 + 6 + 1 + 1);
  });

  it('break-after:n destroys the socket after n SSE events', async () => {
    const res = await chat(sim(), stream, { 'x-sim-fault': 'break-after:3' });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    await expect(
      (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          text += new TextDecoder().decode(value);
        }
      })(),
    ).rejects.toThrow();
    expect(text.split('\n\n').filter(Boolean)).toHaveLength(3);
    expect(text).not.toContain('[DONE]');
  });

  it('break-after on a non-streaming request cuts the JSON body short', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'break-after:0' });
    await expect(res.json()).rejects.toThrow();
  });

  it('hang never answers, so the client deadline fires', async () => {
    await expect(chat(sim(), body, { 'x-sim-fault': 'hang' }, { signal: AbortSignal.timeout(200) })).rejects.toThrow(/timeout|abort/i);
    expect(sim().state.chatRequestCount).toBe(1);
  });

  it('state faults apply to requests the test does not build (once, FIFO, then normal)', async () => {
    sim().faults.once('status:503');
    sim().faults.once({ status: 429 });
    expect(sim().faults.pending).toBe(2);
    expect((await chat(sim(), body)).status).toBe(503);
    expect((await chat(sim(), body)).status).toBe(429);
    expect((await chat(sim(), body)).status).toBe(200);
  });

  it('state faults are scoped to a route: a chat fault does not fire on /models', async () => {
    sim().faults.always('status:500');
    expect((await fetch(`${sim().apiBaseUrl}/models`)).status).toBe(200);
    expect((await chat(sim(), body)).status).toBe(500);
    expect((await chat(sim(), body)).status).toBe(500);
    sim().faults.clear();
    expect((await chat(sim(), body)).status).toBe(200);
    sim().faults.once('status:502', { route: 'attestation' });
    const att = await fetch(`${sim().apiBaseUrl}/tee/attestation?model=e2ee-qwen3-5-122b-a10b`);
    expect(att.status).toBe(502);
  });

  it('rejects a malformed x-sim-fault header with 400', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'explode' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('Invalid x-sim-fault header');
  });

  it('parses combined directives and refuses bad values', () => {
    expect(parseFault('delay:10, slow:5,break-after:2')).toEqual({ delayMs: 10, slowMs: 5, breakAfter: 2 });
    expect(() => parseFault('status:200')).toThrow(FaultSyntaxError);
    expect(() => parseFault('delay:-1')).toThrow(FaultSyntaxError);
    expect(() => parseFault('hang:1')).toThrow(FaultSyntaxError);
  });
});

describe('fault header can be disabled', () => {
  const sim = useSim({ apiKey: 'test-venice-key', allowFaultHeader: false });

  it('ignores x-sim-fault when allowFaultHeader is false', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'status:500' });
    expect(res.status).toBe(200);
  });
});
