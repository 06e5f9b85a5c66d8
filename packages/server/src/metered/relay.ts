/**
 * The answer to a metered call (PROTOCOL.md, "Protocol v2, step 2", state return): relays a 2xx
 * provider answer and returns the call's signed state inside it, as the `zkcredits` member of a
 * JSON answer or as an `event: zkcredits.state` before `data: [DONE]` in SSE. The cost comes from
 * the provider's `usage`, which stays plaintext in Venice E2EE answers (only `delta.content` is
 * ciphertext, and the usage chunk has no choices): nothing is ever decrypted here.
 *
 * Note for the "server" helper (wiring and end-to-end tests against `@zkcredits/venice-sim`):
 * - Usage: the sim always puts `usage` in a JSON answer; in SSE only when the request has
 *   `stream_options.include_usage: true` (a final `choices: []` chunk before `[DONE]`, earlier
 *   chunks carry `usage: null`), E2EE answers included. Tokens are words: prompt = words of every
 *   message + 1 per message, completion = the reply's words (`sim-<hash>:` + the last user
 *   message's words), capped by `max_completion_tokens` / `max_tokens`. `simulateCompletion()`
 *   predicts both counts, so a test can compute the exact expected refund.
 * - Hold a call open mid-answer (lanes in flight, kill -9 "after the answer, before the state"):
 *   `sim.faults.once('stall-after:<n>')` (or the `x-sim-fault` header) holds the answer after n SSE
 *   events (n ≥ the event count: after the usage chunk, just before `[DONE]`; non-stream: after the
 *   headers and half the body); `await sim.faults.whenStalled(k)` resolves once k answers are held;
 *   `sim.faults.release()` lets them go on.
 * - Fail upstream: `status:500` / `status:429` (before any byte: relayMetered is never called, the
 *   route signs a full refund), `break-after:<n>` (the stream breaks after n events: `truncated`,
 *   cost C_max), `stall-after:<n>,break-after:<n>` (held, then broken on `release()`), `hang`.
 */
import { writeWithBackpressure as write } from '@zkcredits/core/node';
import type { SignedStateWire } from '@zkcredits/core';
import type { Response } from 'express';
import { ApiError, UpstreamFailure } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { MAX_UPSTREAM_BODY, copyResponseHeaders, readAll, upstreamError } from '../routes/chat-stream.js';
import type { UpstreamResponse } from '../upstream/venice.js';
import { readUsage, type Usage } from './pricing.js';

/** The SSE event type of the signed state. */
export const STATE_EVENT = 'zkcredits.state';
/** The JSON member of the signed state (the request's proof travels in a member of the same name). */
export const STATE_MEMBER = 'zkcredits';
/** Largest SSE event read from the provider (Venice's are token deltas of a few hundred bytes). */
export const MAX_SSE_EVENT_BYTES = 4 * 1024 * 1024;
/** Bytes read (and dropped) after the provider's `[DONE]` before its connection is cut instead. */
const MAX_AFTER_DONE_BYTES = 64 * 1024;
const DONE_EVENT = Buffer.from('data: [DONE]\n\n');

/**
 * How a metered answer ended once its first byte was sent (or, for JSON, once it was read whole):
 * `served`: the provider finished; `truncated`: the provider's stream broke after it began (cost
 * C_max); `client_left`: the client went away mid-stream (the provider answer is cancelled).
 */
export type MeteredOutcome = 'served' | 'truncated' | 'client_left';

export type RelayMeteredOptions = {
  /** A 2xx provider answer. */
  up: UpstreamResponse;
  res: Response;
  /** The client asked for SSE. */
  stream: boolean;
  /** Aborted when the client left (the route aborts the provider call with it too). */
  signal: AbortSignal;
  /** Called once, just before the first byte goes to the client; may throw (nothing sent, nothing signed). */
  beforeFirstByte: () => Promise<void>;
  /**
   * Signs and stores the call's state; called exactly once unless relayMetered throws before the
   * first byte. `usage` is the provider's (validated), undefined when it sent none or the stream
   * broke (the route then charges C_max).
   */
  finish: (usage: Usage | undefined, outcome: MeteredOutcome) => Promise<SignedStateWire>;
  metrics: Pick<Metrics, 'upstreamErrors'>;
  log: Logger;
};

export type RelayMeteredResult = {
  outcome: MeteredOutcome;
  /** The usage passed to `finish`. */
  usage: Usage | undefined;
  /** What `finish` returned. */
  state: SignedStateWire;
  /** The state's bytes were handed to the client connection (else it gets it from `GET /v2/zkcredits/state/{nullifier}`). */
  delivered: boolean;
};

/** One SSE event as the provider sent it. */
export type SseEvent = {
  /** Its exact bytes, up to and including the blank line that ends it. */
  raw: Buffer;
  /** Its `event:` field ('' when it has none). */
  type: string;
  /** Its `data:` lines joined by `\n`; undefined when it has none (a comment or keep-alive). */
  data: string | undefined;
};

const CR = 0x0d;
const LF = 0x0a;

/**
 * An incremental SSE parser (WHATWG HTML, "event stream interpretation") that keeps every event's
 * exact bytes: chunks may split an event, a line or a CRLF anywhere. Lines end with CRLF, LF or CR;
 * `:` lines are comments; an event ends at a blank line. Bytes after the last blank line are held
 * until more arrive (at the end of the stream they are an incomplete event, never dispatched).
 */
export class SseSplitter {
  #buf: Buffer = Buffer.alloc(0);
  /** Bytes of `#buf` already scanned. */
  #scanned = 0;
  #lineStart = 0;
  /** The last line ended with CR: an LF right after it belongs to that line end. */
  #skipLf = false;
  /** `#buf` starts with the LF of a CRLF that ended the previous event (not an event of its own). */
  #orphanLf = false;
  #started = false;
  #type = '';
  #data: string[] | undefined;

  constructor(private readonly maxEventBytes = MAX_SSE_EVENT_BYTES) {}

  /** Bytes of an event not complete yet. */
  get pending(): number {
    return this.#buf.length - (this.#orphanLf ? 1 : 0);
  }

  /** The bytes not dispatched yet (at the end of a stream: an incomplete event, or the LF of a final CRLF). */
  rest(): Buffer {
    return this.#buf;
  }

  /**
   * Feeds the next bytes; returns the events they complete, in order.
   * @throws {Error} when an event grows beyond `maxEventBytes`.
   */
  push(chunk: Uint8Array): SseEvent[] {
    const incoming = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const b = this.#buf.length === 0 ? incoming : Buffer.concat([this.#buf, incoming]);
    const out: SseEvent[] = [];
    let eventStart = 0;
    for (let i = this.#scanned; i < b.length; i++) {
      const c = b[i]!;
      if (this.#skipLf) {
        this.#skipLf = false;
        if (c === LF) {
          if (i === eventStart) this.#orphanLf = true;
          this.#lineStart = i + 1;
          continue;
        }
      }
      if (c !== CR && c !== LF) continue;
      const line = b.subarray(this.#lineStart, i);
      let end = i + 1;
      if (c === CR) {
        if (end < b.length && b[end] === LF) end++;
        else this.#skipLf = end === b.length;
      }
      this.#lineStart = end;
      if (line.length > 0) {
        this.#field(line);
      } else {
        out.push({ raw: b.subarray(eventStart, end), type: this.#type, data: this.#data?.join('\n') });
        eventStart = end;
        this.#orphanLf = false;
        this.#type = '';
        this.#data = undefined;
      }
      i = end - 1;
    }
    this.#buf = b.subarray(eventStart);
    this.#scanned = this.#buf.length;
    this.#lineStart -= eventStart;
    if (this.#buf.length > this.maxEventBytes) throw new Error(`an SSE event of more than ${this.maxEventBytes} bytes`);
    return out;
  }

  #field(line: Buffer): void {
    let text = line.toString('utf8');
    if (!this.#started) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const name = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') (this.#data ??= []).push(value);
    else if (name === 'event') this.#type = value;
  }
}

/** The bytes of the state event (written before `data: [DONE]`). */
export function stateEvent(state: SignedStateWire): Buffer {
  return Buffer.from(`event: ${STATE_EVENT}\ndata: ${JSON.stringify(state)}\n\n`);
}

/**
 * The provider's JSON object text with the `zkcredits` member added last, the provider's own bytes
 * kept as they are (member order, spacing, number spelling). `parsed` is `text` parsed. A provider
 * object that already has a `zkcredits` member gets it replaced (re-serialized).
 */
export function withStateMember(text: string, parsed: Record<string, unknown>, state: SignedStateWire): string {
  if (Object.hasOwn(parsed, STATE_MEMBER)) return JSON.stringify({ ...parsed, [STATE_MEMBER]: state });
  // JSON.parse took `text` as an object: its last `}` closes it, only whitespace may follow.
  const close = text.lastIndexOf('}');
  const comma = Object.keys(parsed).length > 0 ? ',' : '';
  return `${text.slice(0, close)}${comma}"${STATE_MEMBER}":${JSON.stringify(state)}${text.slice(close)}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The usage an SSE event carries, if it is a JSON chunk with a valid `usage` object. */
function usageOf(ev: SseEvent): Usage | undefined {
  if (ev.data === undefined || !ev.data.includes('"usage"')) return undefined;
  try {
    const chunk = JSON.parse(ev.data) as unknown;
    return isObject(chunk) ? readUsage(chunk.usage) : undefined;
  } catch {
    return undefined;
  }
}

const isDone = (ev: SseEvent) => ev.data?.trim() === '[DONE]';

/**
 * Relays a 2xx provider answer of a metered call and returns its signed state in it.
 *
 * - JSON: read whole (bounded), parsed (not a JSON object: `upstream_error`), `beforeFirstByte`,
 *   `finish(usage, 'served')`, sent with the state as the top-level `zkcredits` member.
 * - SSE: the first chunk is awaited before `beforeFirstByte`; then complete events pass through
 *   as they arrive, with back-pressure, while their `usage` is captured (the last valid one wins).
 *   The provider's `data: [DONE]` is held back (and anything after it dropped); at the end
 *   `finish(usage, 'served')`, then `event: zkcredits.state` and `data: [DONE]`. A provider stream
 *   that ends without `[DONE]` gets the state event last, and no `[DONE]` is made up. If the
 *   provider stream breaks after it began: `finish(undefined, 'truncated')`, the state event, and
 *   a clean end without `[DONE]` (its absence tells the client the answer was cut). If the client
 *   leaves: `finish(usage, 'client_left')`, the provider answer cancelled. An incomplete event at
 *   the end is dropped (SSE never dispatches it). Upstream `zkcredits.state` events are dropped.
 *
 * Throws only (a) before the first byte: nothing was sent and `finish` was not called, the
 * route signs a full refund and answers the error; or (b) when `finish` throws: its error is passed
 * on as is, after destroying the response if bytes were already sent (`res.headersSent`).
 */
export async function relayMetered(o: RelayMeteredOptions): Promise<RelayMeteredResult> {
  const { up, signal } = o;
  const json = !o.stream || /^application\/json\b/i.test(up.headers.get('content-type') ?? '');
  let body: Buffer | undefined;
  let rest: AsyncIterator<Uint8Array> | undefined;
  let first: Uint8Array | undefined;
  try {
    if (json) {
      body = await readAll(up, MAX_UPSTREAM_BODY);
    } else {
      rest = up.chunks[Symbol.asyncIterator]();
      const next = await rest.next();
      if (next.done) throw new ApiError('upstream_error', { details: 'empty answer' });
      first = next.value;
    }
  } catch (err) {
    up.cancel();
    throw upstreamError(err);
  }
  let parsed: Record<string, unknown> | undefined;
  if (body) {
    try {
      const value = JSON.parse(body.toString('utf8')) as unknown;
      if (isObject(value)) parsed = value;
    } catch {
      // not JSON
    }
    if (!parsed) throw new ApiError('upstream_error', { details: 'the provider answer is not a JSON object' });
  }
  if (signal.aborted) {
    up.cancel();
    throw new ApiError('upstream_error', { details: 'client went away' });
  }
  try {
    await o.beforeFirstByte();
  } catch (err) {
    up.cancel();
    throw err;
  }
  if (body && parsed) return sendJson(o, body.toString('utf8'), parsed);
  return relaySse(o, rest!, first!);
}

async function sendJson(o: RelayMeteredOptions, text: string, parsed: Record<string, unknown>): Promise<RelayMeteredResult> {
  const { res, up } = o;
  const usage = readUsage(parsed.usage);
  const state = await o.finish(usage, 'served');
  res.status(up.status);
  copyResponseHeaders(up.headers, res);
  res.end(withStateMember(text, parsed, state));
  return { outcome: 'served', usage, state, delivered: !res.destroyed };
}

async function relaySse(o: RelayMeteredOptions, rest: AsyncIterator<Uint8Array>, first: Uint8Array): Promise<RelayMeteredResult> {
  const { res, up, signal, log } = o;
  res.status(up.status);
  copyResponseHeaders(up.headers, res);
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();

  const parser = new SseSplitter();
  let usage: Usage | undefined;
  let done = false;
  let upstreamEnded = false;
  /** Forwards the complete events of `chunk`; false once the client is gone. */
  const pass = async (chunk: Uint8Array): Promise<boolean> => {
    const out: Buffer[] = [];
    for (const ev of parser.push(chunk)) {
      if (done) break;
      if (isDone(ev)) {
        done = true;
        continue;
      }
      if (ev.type === STATE_EVENT) {
        log.warn('the provider sent a zkcredits.state event: dropped');
        continue;
      }
      usage = usageOf(ev) ?? usage;
      out.push(ev.raw);
    }
    if (signal.aborted) return false;
    return out.length === 0 ? !res.destroyed : write(res, out.length === 1 ? out[0]! : Buffer.concat(out));
  };

  let outcome: MeteredOutcome;
  try {
    let ok = await pass(first);
    while (ok && !done) {
      const next = await rest.next();
      if (next.done) {
        upstreamEnded = true;
        break;
      }
      ok = await pass(next.value);
    }
    outcome = ok ? 'served' : 'client_left';
  } catch (err) {
    if (signal.aborted || res.destroyed) {
      outcome = 'client_left';
    } else {
      outcome = 'truncated';
      o.metrics.upstreamErrors.inc({ kind: err instanceof UpstreamFailure ? err.kind : 'network' });
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'upstream stream broke after the answer started');
    }
  }

  if (outcome === 'served' && done && !upstreamEnded) drainAfterDone(up, rest);
  else if (!upstreamEnded) up.cancel();
  if (outcome === 'served' && parser.pending > 0) log.warn({ bytes: parser.pending }, 'the provider stream ended inside an event: dropped');

  let state: SignedStateWire;
  try {
    state = await o.finish(outcome === 'truncated' ? undefined : usage, outcome);
  } catch (err) {
    res.destroy();
    throw err;
  }
  if (outcome === 'client_left') return { outcome, usage, state, delivered: false };
  const tail = outcome === 'served' && done ? Buffer.concat([stateEvent(state), DONE_EVENT]) : stateEvent(state);
  const delivered = await write(res, tail);
  res.end();
  return { outcome, usage: outcome === 'truncated' ? undefined : usage, state, delivered };
}

/**
 * After `[DONE]` the answer is complete: the client is not kept waiting for the provider's end of
 * body, which is read in the background (so its connection can be reused), at most
 * `MAX_AFTER_DONE_BYTES` and within the provider's own timeouts, then cut.
 */
function drainAfterDone(up: UpstreamResponse, rest: AsyncIterator<Uint8Array>): void {
  void (async () => {
    let size = 0;
    try {
      for (let next = await rest.next(); !next.done; next = await rest.next()) {
        size += next.value.byteLength;
        if (size > MAX_AFTER_DONE_BYTES) return up.cancel();
      }
    } catch {
      // the provider broke after [DONE]: nothing lost
    }
  })();
}
