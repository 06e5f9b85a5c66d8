import { describe, expect, it, vi } from 'vitest';
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

  /** Reads `res` until `count` SSE events have arrived; returns them and the reader (for the rest). */
  async function readEvents(res: Response, count: number) {
    const reader = res.body!.getReader();
    let text = '';
    while (text.split('\n\n').length - 1 < count) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended after ${text.split('\n\n').length - 1} events`);
      text += new TextDecoder().decode(value);
    }
    return { text, reader };
  }

  async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  }

  it('stall-after:n holds a stream open after n events until release(), then finishes it', async () => {
    const plain = (await (await chat(sim(), stream)).text()).split('\n\n').filter(Boolean);
    const res = await chat(sim(), stream, { 'x-sim-fault': 'stall-after:2' });
    expect(res.status).toBe(200);
    const { text, reader } = await readEvents(res, 2);
    await sim().faults.whenStalled();
    expect(sim().faults.stalled).toBe(1);
    expect(text.split('\n\n').filter(Boolean)).toHaveLength(2);
    sim().faults.release();
    const all = (text + (await readRest(reader))).split('\n\n').filter(Boolean);
    expect(sim().faults.stalled).toBe(0);
    expect(all).toHaveLength(plain.length);
    expect(all.at(-1)).toBe('data: [DONE]');
    expect(sim().state.lastRequest?.fault).toEqual({ stallAfter: 2 });
  });

  it('stall-after beyond the last event holds the stream just before data: [DONE] (usage chunk sent)', async () => {
    const res = await chat(sim(), { ...stream, stream_options: { include_usage: true } }, { 'x-sim-fault': 'stall-after:99' });
    const { text, reader } = await readEvents(res, 9);
    await sim().faults.whenStalled();
    const events = text.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(9);
    expect(JSON.parse(events.at(-1)!.slice('data: '.length)).usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 6 });
    expect(text).not.toContain('[DONE]');
    sim().faults.release();
    expect(await readRest(reader)).toBe('data: [DONE]\n\n');
  });

  it('stall-after:n with break-after:n holds the stream, then breaks it on release()', async () => {
    sim().faults.once('stall-after:3,break-after:3');
    const res = await chat(sim(), stream);
    const { text, reader } = await readEvents(res, 3);
    await sim().faults.whenStalled();
    sim().faults.release();
    await expect(readRest(reader)).rejects.toThrow();
    expect(text.split('\n\n').filter(Boolean)).toHaveLength(3);
  });

  it('stall-after on a non-streaming answer holds it after the headers and half the body', async () => {
    const res = await chat(sim(), body, { 'x-sim-fault': 'stall-after:0' });
    expect(res.status).toBe(200);
    await sim().faults.whenStalled();
    const json = res.json();
    sim().faults.release();
    expect(await json).toMatchObject({ object: 'chat.completion', usage: { prompt_tokens: 6, completion_tokens: 6 } });
  });

  it('whenStalled(n) waits for n held answers; one whose client leaves is no longer held', async () => {
    sim().faults.always('stall-after:1');
    const aborts = [new AbortController(), new AbortController()];
    const answers = aborts.map((a) => chat(sim(), stream, {}, { signal: a.signal }));
    await sim().faults.whenStalled(2);
    expect(sim().faults.stalled).toBe(2);
    aborts[0]!.abort();
    await expect((await answers[0]!).text()).rejects.toThrow();
    await vi.waitFor(() => expect(sim().faults.stalled).toBe(1));
    sim().faults.clear();
    sim().faults.release();
    expect((await (await answers[1]!).text()).endsWith('data: [DONE]\n\n')).toBe(true);
    expect(sim().faults.stalled).toBe(0);
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
    expect(parseFault('stall-after:4,break-after:4')).toEqual({ stallAfter: 4, breakAfter: 4 });
    expect(() => parseFault('stall-after')).toThrow(FaultSyntaxError);
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
