import { base64 } from '@scure/base';
import { bytesToHex } from 'viem';
import { z } from 'zod';
import { AppError } from '../errors';

/** All API calls go through the app's own origin (see app/api/zk). */
export const API_BASE = '/api/zk';
const BASE = API_BASE;

const errorBody = z.object({
  error: z.object({ code: z.string().nullish(), message: z.string(), type: z.string().nullish() }).passthrough(),
});

/** An error answer from the API server, with its stable code. */
export class ServerError extends AppError {
  override name = 'ServerError';
  constructor(
    readonly status: number,
    readonly serverCode: string,
    message: string,
    readonly retryAfter?: number,
    /**
     * The body's `zkcredits` member (metered calls: the signed state of the call this answer ends,
     * unchecked). Consumed by the metered flow; never shown.
     */
    readonly state?: unknown,
  ) {
    super(status >= 500 ? (serverCode.startsWith('upstream') ? 'upstream_failed' : 'server_unavailable') : 'server_rejected', message, {
      details: `HTTP ${status} ${serverCode}`,
    });
  }
}

async function toServerError(res: Response): Promise<ServerError> {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status}.`;
  let state: unknown;
  try {
    const json = (await res.json()) as unknown;
    const parsed = errorBody.safeParse(json);
    if (parsed.success) {
      code = parsed.data.error.code ?? code;
      message = parsed.data.error.message;
    }
    if (typeof json === 'object' && json !== null && 'zkcredits' in json) state = (json as { zkcredits: unknown }).zkcredits;
  } catch {
    // not JSON: keep the generic message
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ServerError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined, state);
}

async function getJson<T>(path: string, schema: z.ZodType<T>, signal?: AbortSignal, cache?: RequestCache): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, { headers: { accept: 'application/json' }, signal, ...(cache ? { cache } : {}) });
  } catch (cause) {
    throw new AppError('server_unavailable', 'The zkcredits server is not reachable.', { cause });
  }
  if (!res.ok) throw await toServerError(res);
  const parsed = schema.safeParse(await res.json());
  if (!parsed.success) {
    throw new AppError('server_unavailable', 'The server sent an answer this app does not understand.', {
      details: `${path}: ${parsed.error.issues[0]?.message}`,
    });
  }
  return parsed.data;
}

const models = z.object({
  data: z.array(
    z.object({
      id: z.string().min(1).max(200),
      zkcredits: z.object({ max_tokens_per_credit: z.number().int().positive(), e2ee: z.boolean().nullish() }).optional(),
    }),
  ),
});
/**
 * A model the server sells. `e2ee`: it takes end-to-end encrypted requests (an enclave the app
 * verifies and encrypts to); `null` while the server does not know yet (it reads the provider's
 * model list in the background): nothing is sent to such a model until it is known.
 */
export type Model = { id: string; maxTokensPerCredit?: number; e2ee: boolean | null };

export async function listModels(signal?: AbortSignal): Promise<Model[]> {
  return (await getJson('/v1/models', models, signal)).data.map((m) => ({
    id: m.id,
    maxTokensPerCredit: m.zkcredits?.max_tokens_per_credit,
    // Absent (a server without E2EE support): false. null: the server does not know yet.
    e2ee: m.zkcredits?.e2ee === undefined ? false : m.zkcredits.e2ee,
  }));
}

const serverConfig = z.object({ chain_id: z.number().int(), contract: z.string() });

type ServerConfig = { chainId: number; contract: string };

/** The deployment the server serves (the app refuses a server for another one: chat/spend.ts). */
export async function getServerConfig(signal?: AbortSignal): Promise<ServerConfig> {
  const c = await getJson('/v1/zkcredits/config', serverConfig, signal);
  return { chainId: c.chain_id, contract: c.contract };
}

const price = z.number().int().nonnegative();
const meteredConfig = z.object({
  price_unit: z.string().regex(/^[1-9][0-9]{0,77}$/),
  c_max: z.number().int().positive(),
  lanes_max: z.number().int().positive(),
  state_key: z.object({ x: z.string(), y: z.string() }).nullable(),
  prices: z.record(z.string(), z.object({ input: price, output: price })),
  max_penalty: z.number().int().nonnegative().optional(),
  policy_reasons: z.array(z.string()).optional(),
});
const ticketConfig = z.object({
  chain_id: z.number().int(),
  contract: z.string(),
  kinds: z.array(z.string()),
  ticket_verification_key_sha256: z.string(),
  metered: meteredConfig.nullish(),
});

/**
 * What the server says about metered calls (`metered` of `/v2/zkcredits/config`): its price unit
 * and `C_max` (the app uses the contract's, and refuses a server that disagrees), the published
 * price table (price units per 1M tokens) by which each refund can be checked.
 */
export type ServerMeteredConfig = {
  priceUnit: bigint;
  cMax: number;
  stateKey: { x: string; y: string } | null;
  prices: Record<string, { input: number; output: number }>;
};

export type TicketConfig = { chainId: number; contract: string; flat: boolean; vkSha256: string; metered: ServerMeteredConfig | null };

/** What the server says about protocol v2 tickets (`GET /v2/zkcredits/config`); undefined when it takes none. */
export async function getTicketConfig(signal?: AbortSignal): Promise<TicketConfig | undefined> {
  try {
    const c = await getJson('/v2/zkcredits/config', ticketConfig, signal);
    const m = c.metered;
    return {
      chainId: c.chain_id,
      contract: c.contract,
      flat: c.kinds.includes('flat'),
      vkSha256: c.ticket_verification_key_sha256,
      metered: m ? { priceUnit: BigInt(m.price_unit), cMax: m.c_max, stateKey: m.state_key, prices: m.prices } : null,
    };
  } catch (error) {
    if (error instanceof ServerError && error.status === 404) return undefined;
    throw error;
  }
}

const leavesPage = z.object({
  from: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  root: z.string().regex(/^0x[0-9a-fA-F]{64}$/),
  leaves: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

export type LeavesPage = { start: number; leaves: `0x${string}`[]; size: number; root: `0x${string}` };

/** Leaves of the credit tree from index `from` on (everyone's commitments; reveals nothing about us). */
export async function fetchLeaves(from: number, signal?: AbortSignal): Promise<LeavesPage> {
  // Never the browser's cached copy (the route allows 5 s): a leaf written since, e.g. the account
  // just opened, would be missing and the call refused as "not in the tree yet".
  const page = await getJson(`/v1/zkcredits/leaves?from=${from}`, leavesPage, signal, 'no-cache');
  const bytes = base64.decode(page.leaves);
  if (bytes.length !== page.count * 32) {
    throw new AppError('server_unavailable', 'The server sent a damaged list of leaves.', { details: `${bytes.length} bytes for ${page.count} leaves` });
  }
  const leaves = Array.from({ length: page.count }, (_, i) => bytesToHex(bytes.subarray(i * 32, (i + 1) * 32)));
  return { start: page.from, leaves, size: page.total, root: page.root.toLowerCase() as `0x${string}` };
}

export type StreamHandlers = {
  /** The server answered 200 and the stream began: it has marked the credit spent. */
  onOpen?(): void;
  onDelta(text: string): void;
};

/** End-to-end encryption of one request: its headers, and the decryption of its streamed deltas. */
export type StreamE2ee = {
  /** The three Venice E2EE headers (bound into the proof's request hash). */
  headers: Record<string, string>;
  /** Decrypts deltas in order; rejects (fails closed) on plaintext or a bad ciphertext. */
  decrypt(contents: string[]): Promise<string[]>;
};

/** The SSE event a metered answer ends with (its data: the call's signed state). */
const STATE_EVENT = 'zkcredits.state';

export type StreamResult = {
  finishReason?: string;
  /**
   * The signed state of a metered call (unchecked): the `zkcredits.state` event of a stream, or the
   * `zkcredits` member of a JSON answer. Consumed by the metered flow, never shown.
   */
  state?: unknown;
};

/**
 * POST /v1/chat/completions with the proof attached, streaming the answer (SSE) into
 * `onDelta`. Resolves when the stream ends; rejects with a ServerError on an error answer
 * (before `onOpen`, with the body's `zkcredits` member as its `state`) or on an error event in
 * the stream (after it). With `e2ee`, every delta is decrypted before it reaches `onDelta`; one
 * that does not decrypt ends the stream. A metered answer's `zkcredits.state` event (or a JSON
 * answer's `zkcredits` member) is taken out of the answer and returned as `state`; when the
 * stream fails after it, the error carries it (`state`) too.
 */
export async function streamChat(
  body: Record<string, unknown>,
  handlers: StreamHandlers,
  signal: AbortSignal,
  e2ee?: StreamE2ee,
): Promise<StreamResult> {
  let res: Response;
  try {
    res = await fetch(`${BASE}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...e2ee?.headers, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (cause) {
    if (signal.aborted) throw new AppError('aborted', 'Stopped.');
    throw new AppError('server_unavailable', 'The zkcredits server is not reachable. Your credit was not spent.', { cause });
  }
  if (!res.ok) throw await toServerError(res);
  handlers.onOpen?.();
  if (!res.body) return {};
  if ((res.headers.get('content-type') ?? '').includes('application/json')) return jsonAnswer(res, handlers, e2ee);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let finishReason: string | undefined;
  let state: unknown;
  /** The current SSE event's name (`event:`), until the blank line that ends it. */
  let eventName = '';
  /** Deltas of the current read, emitted together (decrypted first under E2EE). */
  let pending: string[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    for (const text of e2ee ? await e2ee.decrypt(batch) : batch) if (text) handlers.onDelta(text);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, cut).replace(/\r$/, '');
      buffer = buffer.slice(cut + 1);
      if (line === '') {
        eventName = '';
        continue;
      }
      if (line.startsWith('event:')) {
        eventName = line.slice(6).trim();
        continue;
      }
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (eventName === STATE_EVENT) {
        try {
          state = JSON.parse(data);
        } catch {
          state = undefined; // unreadable: the metered flow asks for it (GET state)
        }
        continue;
      }
      if (data === '[DONE]') {
        await flush();
        return { finishReason, ...(state !== undefined ? { state } : {}) };
      }
      let event: {
        choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
        error?: { message?: string; code?: string };
      };
      try {
        event = JSON.parse(data);
      } catch {
        continue;
      }
      if (event.error) {
        await flush();
        throw new ServerError(502, event.error.code ?? 'upstream_error', event.error.message ?? 'The model provider failed mid-answer.', undefined, state);
      }
      const choice = event.choices?.[0];
      const content = choice?.delta?.content;
      if (typeof content === 'string' && content) pending.push(content);
      if (choice?.finish_reason) finishReason = choice.finish_reason;
    }
    await flush();
  }
  await flush();
  return { finishReason, ...(state !== undefined ? { state } : {}) };
}

/** A JSON (non-streamed) answer: its text to `onDelta` (decrypted under E2EE), its `zkcredits` member as `state`. */
async function jsonAnswer(res: Response, handlers: StreamHandlers, e2ee?: StreamE2ee): Promise<StreamResult> {
  const answer = (await res.json()) as { choices?: { message?: { content?: string | null }; finish_reason?: string | null }[]; zkcredits?: unknown };
  const choice = answer.choices?.[0];
  const content = choice?.message?.content;
  if (typeof content === 'string' && content) for (const text of e2ee ? await e2ee.decrypt([content]) : [content]) if (text) handlers.onDelta(text);
  return { ...(choice?.finish_reason ? { finishReason: choice.finish_reason } : {}), ...(answer.zkcredits !== undefined ? { state: answer.zkcredits } : {}) };
}
