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
  ) {
    super(status >= 500 ? (serverCode.startsWith('upstream') ? 'upstream_failed' : 'server_unavailable') : 'server_rejected', message, {
      details: `HTTP ${status} ${serverCode}`,
    });
  }
}

async function toServerError(res: Response): Promise<ServerError> {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status}.`;
  try {
    const parsed = errorBody.safeParse(await res.json());
    if (parsed.success) {
      code = parsed.data.error.code ?? code;
      message = parsed.data.error.message;
    }
  } catch {
    // not JSON: keep the generic message
  }
  const retry = Number(res.headers.get('retry-after'));
  return new ServerError(res.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined);
}

async function getJson<T>(path: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${BASE}${path}`, { headers: { accept: 'application/json' }, signal });
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

const ticketConfig = z.object({
  chain_id: z.number().int(),
  contract: z.string(),
  kinds: z.array(z.string()),
  ticket_verification_key_sha256: z.string(),
});

/** What the server says about protocol v2 tickets (`GET /v2/zkcredits/config`); undefined when it takes none. */
export async function getTicketConfig(signal?: AbortSignal): Promise<{ chainId: number; contract: string; flat: boolean; vkSha256: string } | undefined> {
  try {
    const c = await getJson('/v2/zkcredits/config', ticketConfig, signal);
    return { chainId: c.chain_id, contract: c.contract, flat: c.kinds.includes('flat'), vkSha256: c.ticket_verification_key_sha256 };
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
  const page = await getJson(`/v1/zkcredits/leaves?from=${from}`, leavesPage, signal);
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

/**
 * POST /v1/chat/completions with the proof attached, streaming the answer (SSE) into
 * `onDelta`. Resolves when the stream ends; rejects with a ServerError on an error answer
 * (before `onOpen`) or on an error event in the stream (after it). With `e2ee`, every delta
 * is decrypted before it reaches `onDelta`; one that does not decrypt ends the stream.
 */
export async function streamChat(
  body: Record<string, unknown>,
  handlers: StreamHandlers,
  signal: AbortSignal,
  e2ee?: StreamE2ee,
): Promise<{ finishReason?: string }> {
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
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let finishReason: string | undefined;
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
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '[DONE]') {
        await flush();
        return { finishReason };
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
        throw new ServerError(502, event.error.code ?? 'upstream_error', event.error.message ?? 'The model provider failed mid-answer.');
      }
      const choice = event.choices?.[0];
      const content = choice?.delta?.content;
      if (typeof content === 'string' && content) pending.push(content);
      if (choice?.finish_reason) finishReason = choice.finish_reason;
    }
    await flush();
  }
  await flush();
  return { finishReason };
}
