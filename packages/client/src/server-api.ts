/**
 * The zkcredits server's public routes as the client reads them (PROTOCOL.md, "API (server)"):
 * the deployment config, leaves of the credit tree, the model list, and error answers. Every
 * answer is checked before use; nothing here sends a credit.
 */
import { z } from 'zod';
import { ClientError, briefly } from './errors.js';
import type { Hex } from './records.js';

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A `fetch` as the client calls it (global fetch, a SOCKS fetch, a test double). */
export type FetchFn = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** `https://host[/prefix]` without a trailing slash or `/v1`. */
export function serverOrigin(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch (cause) {
    throw new ClientError('invalid_request', 'the server URL is not a URL', { details: JSON.stringify(server).slice(0, 100), cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ClientError('invalid_request', 'the server URL must be http(s)', { details: url.protocol });
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}

const configSchema = z
  .object({
    chain_id: z.number().int().positive(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    verification_key_sha256: z.string(),
    tree_depth: z.number().int().optional(),
    root_history_size: z.number().int().optional(),
    confirmations: z.number().int().optional(),
    price_per_credit: z.string().nullish(),
    payment_token: z.string().nullish(),
    models: z.array(z.object({ id: z.string(), max_tokens_per_credit: z.number().optional(), max_input_tokens_per_credit: z.number().optional() }).loose()).optional(),
    api_key_mode: z.boolean().optional(),
  })
  .loose();

/** `GET /v1/zkcredits/config`, the parts the client uses. */
export type ServerConfig = {
  chainId: number;
  contract: Hex;
  vkSha256: string;
  treeDepth?: number;
  confirmations?: number;
  pricePerCredit?: bigint;
  models: { id: string; maxTokensPerCredit?: number; maxInputTokensPerCredit?: number }[];
};

const modelsSchema = z.object({
  data: z.array(
    z
      .object({
        id: z.string().min(1).max(200),
        zkcredits: z.object({ max_tokens_per_credit: z.number().optional(), e2ee: z.boolean().nullish() }).loose().optional(),
      })
      .loose(),
  ),
});

const bigNumber = z.union([z.string().regex(/^(0x[0-9a-fA-F]{1,64}|[0-9]{1,80})$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));
const meteredConfigSchema = z
  .object({
    price_unit: z.string().regex(/^[0-9]{1,40}$/),
    c_max: z.number().int().positive(),
    lanes_max: z.number().int().positive().optional(),
    state_key: z.object({ x: bigNumber, y: bigNumber }).loose().nullable(),
    prices: z.record(z.string(), z.object({ input: z.number().int().nonnegative(), output: z.number().int().positive() }).loose()),
    max_penalty: z.number().int().nonnegative().optional(),
    policy_reasons: z.array(z.string()).optional(),
    verification_key_sha256: z.string().optional(),
  })
  .loose();

const v2ConfigSchema = z
  .object({
    chain_id: z.number().int().positive(),
    contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    kinds: z.array(z.string()),
    ticket_verification_key_sha256: z.string(),
    metered_verification_key_sha256: z.string().optional(),
    price_per_ticket: z.string().nullish(),
    ttl_days: z.number().int().nullish(),
    metered: meteredConfigSchema.nullish(),
  })
  .loose();

/** A model's metered price: price units per 1M input and output tokens. */
export type ModelPrice = { input: number; output: number };

/** The metered part of `GET /v2/zkcredits/config` (absent when the server takes no metered calls). */
export type MeteredConfig = {
  /** Token base units per price unit. */
  priceUnit: bigint;
  /** What one call pre-pays, in price units. */
  cMax: number;
  lanesMax?: number;
  /** The key the server signs states under (checked against the chain by the client); null when it has none. */
  stateKey: { x: bigint; y: bigint } | null;
  /** Published prices per model (price units per 1M tokens): the refunds can be checked against them. */
  prices: Record<string, ModelPrice>;
  maxPenalty?: number;
  policyReasons?: string[];
  /** SHA-256 of the metered verification key the server uses, when it says. */
  vkSha256?: string;
};

/** `GET /v2/zkcredits/config`, the parts the client uses (protocol v2 flat and metered accounts). */
export type V2Config = { chainId: number; contract: Hex; kinds: string[]; ticketVkSha256: string; pricePerTicket?: bigint; ttlDays?: number; metered?: MeteredConfig };

/** A model on sale. `e2ee`: `true`, `false`, or `null` while the server does not know yet. */
export type ModelInfo = { id: string; e2ee: boolean | null; maxTokensPerCredit?: number };

/** One page of leaves: `leaves` start at index `from`; `total` leaves have root `root`. */
export type LeavesPage = { from: number; total: number; root: bigint; leaves: bigint[] };

/** An error answer of the server in OpenAI's shape. */
export type ServerErrorBody = { status: number; code: string; message: string; type?: string; param?: string | null; retryAfter?: number };

const errorSchema = z.object({
  error: z.object({ message: z.string(), code: z.string().nullish(), type: z.string().nullish(), param: z.string().nullish() }).loose(),
});

/** Reads an error answer (consumes the body); a body that is not OpenAI-shaped gets a generic message. */
export async function readServerError(res: Response): Promise<ServerErrorBody> {
  let code = `http_${res.status}`;
  let message = `The zkcredits server answered HTTP ${res.status}.`;
  let type: string | undefined;
  let param: string | null | undefined;
  try {
    const parsed = errorSchema.safeParse(JSON.parse(await res.text()));
    if (parsed.success) {
      code = parsed.data.error.code ?? code;
      message = parsed.data.error.message;
      type = parsed.data.error.type ?? undefined;
      param = parsed.data.error.param;
    }
  } catch {
    // not JSON: keep the generic message
  }
  const retry = Number(res.headers.get('retry-after'));
  return { status: res.status, code, message, ...(type ? { type } : {}), ...(param !== undefined ? { param } : {}), ...(retry > 0 ? { retryAfter: retry } : {}) };
}

/** A ClientError for a server's error answer. */
export function serverRejected(e: ServerErrorBody, what: string): ClientError {
  return new ClientError('server_rejected', `${what}: ${e.message}`, {
    serverCode: e.code,
    status: e.status,
    ...(e.retryAfter ? { retryAfter: e.retryAfter } : {}),
    ...(e.type ? { serverType: e.type } : {}),
    ...(e.param ? { param: e.param } : {}),
    details: `HTTP ${e.status} ${e.code}`,
  });
}

function meteredConfig(m: z.infer<typeof meteredConfigSchema>, vk: string | undefined): MeteredConfig {
  const vkSha256 = m.verification_key_sha256 ?? vk;
  return {
    priceUnit: BigInt(m.price_unit),
    cMax: m.c_max,
    ...(m.lanes_max !== undefined ? { lanesMax: m.lanes_max } : {}),
    stateKey: m.state_key ? { x: m.state_key.x, y: m.state_key.y } : null,
    prices: Object.fromEntries(Object.entries(m.prices).map(([id, p]) => [id, { input: p.input, output: p.output }])),
    ...(m.max_penalty !== undefined ? { maxPenalty: m.max_penalty } : {}),
    ...(m.policy_reasons ? { policyReasons: m.policy_reasons } : {}),
    ...(vkSha256 ? { vkSha256 } : {}),
  };
}

/** Typed access to one server's public routes through `fetch`. */
export class ServerApi {
  constructor(
    /** `serverOrigin(...)` of the server. */
    readonly origin: string,
    private readonly fetchFn: FetchFn,
  ) {}

  /** GETs a route and returns the response (network failures are `server_unavailable`). */
  async get(path: string, accept = 'application/json', signal?: AbortSignal): Promise<Response> {
    try {
      return await this.fetchFn(`${this.origin}${path}`, { headers: { accept }, ...(signal ? { signal } : {}) });
    } catch (cause) {
      if (signal?.aborted) throw new ClientError('aborted', 'Stopped.', { cause });
      throw new ClientError('server_unavailable', 'The zkcredits server is not reachable. Nothing was spent.', { details: `GET ${this.origin}${path}: ${briefly(cause)}`, cause });
    }
  }

  private async json<T>(path: string, schema: z.ZodType<T>, signal?: AbortSignal): Promise<T> {
    const res = await this.get(path, 'application/json', signal);
    if (!res.ok) throw serverRejected(await readServerError(res), `GET ${path} failed`);
    let body: unknown;
    try {
      body = await res.json();
    } catch (cause) {
      throw new ClientError('server_unavailable', 'The zkcredits server did not answer JSON.', { details: `GET ${path}`, cause });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ClientError('server_unavailable', 'The zkcredits server sent an answer this client does not understand.', {
        details: `GET ${path}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
      });
    }
    return parsed.data;
  }

  async config(signal?: AbortSignal): Promise<ServerConfig> {
    const c = await this.json('/v1/zkcredits/config', configSchema, signal);
    let pricePerCredit: bigint | undefined;
    if (typeof c.price_per_credit === 'string' && /^\d+$/.test(c.price_per_credit)) pricePerCredit = BigInt(c.price_per_credit);
    return {
      chainId: c.chain_id,
      contract: c.contract as Hex,
      vkSha256: c.verification_key_sha256,
      ...(c.tree_depth !== undefined ? { treeDepth: c.tree_depth } : {}),
      ...(c.confirmations !== undefined ? { confirmations: c.confirmations } : {}),
      ...(pricePerCredit !== undefined ? { pricePerCredit } : {}),
      models: (c.models ?? []).map((m) => ({
        id: m.id,
        ...(m.max_tokens_per_credit !== undefined ? { maxTokensPerCredit: m.max_tokens_per_credit } : {}),
        ...(m.max_input_tokens_per_credit !== undefined ? { maxInputTokensPerCredit: m.max_input_tokens_per_credit } : {}),
      })),
    };
  }

  /** The v2 config, or `undefined` when the server does not take v2 tickets (404). */
  async v2Config(signal?: AbortSignal): Promise<V2Config | undefined> {
    const res = await this.get('/v2/zkcredits/config', 'application/json', signal);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw serverRejected(await readServerError(res), 'GET /v2/zkcredits/config failed');
    const parsed = v2ConfigSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ClientError('server_unavailable', 'The zkcredits server sent a v2 config this client does not understand.', {
        details: `GET /v2/zkcredits/config: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
      });
    }
    const c = parsed.data;
    return {
      chainId: c.chain_id,
      contract: c.contract as Hex,
      kinds: c.kinds,
      ticketVkSha256: c.ticket_verification_key_sha256,
      ...(typeof c.price_per_ticket === 'string' && /^\d+$/.test(c.price_per_ticket) ? { pricePerTicket: BigInt(c.price_per_ticket) } : {}),
      ...(typeof c.ttl_days === 'number' ? { ttlDays: c.ttl_days } : {}),
      ...(c.metered ? { metered: meteredConfig(c.metered, c.metered_verification_key_sha256) } : {}),
    };
  }

  async models(signal?: AbortSignal): Promise<ModelInfo[]> {
    const m = await this.json('/v1/models', modelsSchema, signal);
    return m.data.map((d) => ({
      id: d.id,
      // Absent (a server without E2EE support): false. null: not known yet.
      e2ee: d.zkcredits?.e2ee === undefined ? false : d.zkcredits.e2ee,
      ...(d.zkcredits?.max_tokens_per_credit !== undefined ? { maxTokensPerCredit: d.zkcredits.max_tokens_per_credit } : {}),
    }));
  }

  /** Leaves from index `from` on (raw bytes: 32-byte big-endian commitments). */
  async leaves(from: number, signal?: AbortSignal): Promise<LeavesPage> {
    const path = `/v1/zkcredits/leaves?from=${from}`;
    const res = await this.get(path, 'application/octet-stream', signal);
    if (!res.ok) throw serverRejected(await readServerError(res), `GET ${path} failed`);
    const start = res.headers.get('x-zkcredits-from');
    const total = res.headers.get('x-zkcredits-total');
    const root = res.headers.get('x-zkcredits-root');
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (start !== String(from) || !total || !/^\d+$/.test(total) || !root || !/^0x[0-9a-fA-F]{64}$/.test(root) || bytes.length % 32 !== 0) {
      throw new ClientError('server_unavailable', 'The zkcredits server sent a damaged page of leaves.', {
        details: `from ${start}, total ${total}, root ${root}, ${bytes.length} bytes`,
      });
    }
    const leaves: bigint[] = [];
    for (let i = 0; i < bytes.length; i += 32) {
      let hex = '0x';
      for (let j = i; j < i + 32; j++) hex += HEX[bytes[j]!];
      leaves.push(BigInt(hex));
    }
    return { from, total: Number(total), root: BigInt(root), leaves };
  }
}
