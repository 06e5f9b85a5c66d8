import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { simulateCompletion, type PlainMessage } from './completion.js';
import {
  decryptField,
  encryptField,
  ethereumAddress,
  generateKeyPair,
  keyPairFromSecret,
  looksEncrypted,
  parsePublicKey,
  type KeyPair,
} from './e2ee-crypto.js';
import { E2eeError } from './errors.js';
import { veniceErrorBody } from './errors-http.js';
import { FaultControl, FaultSyntaxError, parseFault, type Fault } from './faults.js';
import { DEFAULT_MODELS, modelListEntry, type SimModel } from './models.js';
import { buildQuote, measurementFor } from './quote.js';

export const FAULT_HEADER = 'x-sim-fault';
export const E2EE_HEADERS = {
  clientPubKey: 'x-venice-tee-client-pub-key',
  modelPubKey: 'x-venice-tee-model-pub-key',
  signingAlgo: 'x-venice-tee-signing-algo',
} as const;

const hex32 = z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, 'expected 32 bytes as 64 hex chars');

const optionsSchema = z.object({
  /** The only accepted `Authorization: Bearer <apiKey>`. */
  apiKey: z.string().min(1, 'apiKey is required: the sim checks Authorization: Bearer <apiKey>'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(0),
  models: z.array(z.custom<SimModel>((v) => typeof v === 'object' && v !== null && 'id' in v)).optional(),
  /** Fixed secp256k1 enclave keys per TEE model id (hex); random when absent. */
  enclaveSecretKeys: z.record(z.string(), hex32).default({}),
  /** Fixed P-256 key of the simulated attestation authority (hex); random when absent. */
  authoritySecretKey: hex32.optional(),
  /** Report the enclave as a debug TD (tests that clients reject it). */
  debugEnclave: z.boolean().default(false),
  /** Honour the `x-sim-fault` request header (state faults always work). */
  allowFaultHeader: z.boolean().default(true),
  maxRecordedRequests: z.number().int().positive().default(100),
  maxBodyBytes: z.number().int().positive().default(4 * 1024 * 1024),
  /** Requests per minute advertised in x-ratelimit-* headers. */
  rateLimitRequests: z.number().int().positive().default(500),
  rateLimitTokens: z.number().int().positive().default(1_000_000),
});

export type VeniceSimOptions = z.input<typeof optionsSchema>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body exactly as received (ciphertext stays ciphertext), if any. */
  body: unknown;
  /** The request carried Venice E2EE headers. */
  e2ee: boolean;
  /** Number of message contents that were ciphertext-shaped (hex >= 186 chars). */
  encryptedFields: number;
  model: string | undefined;
  stream: boolean | undefined;
  fault: Fault | undefined;
  status: number | undefined;
}

export class SimState {
  requestCount = 0;
  chatRequestCount = 0;
  readonly requests: RecordedRequest[] = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get lastRequest(): RecordedRequest | undefined {
    return this.requests.at(-1);
  }

  /** @internal */
  record(r: RecordedRequest): void {
    this.requestCount++;
    if (r.path.endsWith('/chat/completions')) this.chatRequestCount++;
    this.requests.push(r);
    if (this.requests.length > this.#max) this.requests.shift();
  }

  reset(): void {
    this.requestCount = 0;
    this.chatRequestCount = 0;
    this.requests.length = 0;
  }
}

export interface VeniceSim {
  /** `http://127.0.0.1:<port>` — the API base is `${url}/api/v1`. */
  url: string;
  apiBaseUrl: string;
  state: SimState;
  faults: FaultControl;
  /** Uncompressed P-256 public key (hex) of the simulated attestation authority; pin it in clients. */
  authorityPublicKeyHex: string;
  /** Uncompressed secp256k1 enclave public key (hex) of a TEE model. */
  enclavePublicKeyHex(modelId: string): string;
  close(): Promise<void>;
}

const textPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const messageSchema = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(textPart).min(1), z.null()]).optional(),
    name: z.string().optional(),
  })
  .loose();
const chatSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(messageSchema).min(1),
    max_tokens: z.number().int().optional(),
    max_completion_tokens: z.number().int().optional(),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_p: z.number().min(0).max(1).optional(),
    n: z.number().int().min(1).max(1).optional(),
    venice_parameters: z
      .object({
        character_slug: z.string().optional(),
        strip_thinking_response: z.boolean().optional(),
        disable_thinking: z.boolean().optional(),
        enable_web_search: z.enum(['auto', 'off', 'on']).optional(),
        enable_web_scraping: z.boolean().optional(),
        enable_web_citations: z.boolean().optional(),
        include_search_results_in_stream: z.boolean().optional(),
        return_search_results_as_documents: z.boolean().optional(),
        include_venice_system_prompt: z.boolean().optional(),
        enable_e2ee: z.boolean().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();
type ChatRequest = z.infer<typeof chatSchema>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.error ?? status));
  }
}
const fail = (status: number, error?: string, extra: Record<string, unknown> = {}) =>
  new HttpError(status, { ...(error ? { error } : veniceErrorBody(status)), ...extra });

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed || res.headersSent) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function bearerMatches(header: string | undefined, apiKey: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(sha256(new TextEncoder().encode(m[1]!.trim())), sha256(new TextEncoder().encode(apiKey)));
}

/** Splits Venice "model feature suffix" syntax: `<id>:<param>=<value>&...`. */
function splitModelSuffix(model: string): { id: string; params: Record<string, string | boolean> } {
  const i = model.indexOf(':');
  if (i < 0) return { id: model, params: {} };
  const params: Record<string, string | boolean> = {};
  for (const kv of model.slice(i + 1).split('&')) {
    const [k, v = ''] = kv.split('=', 2);
    if (k) params[k] = v === 'true' ? true : v === 'false' ? false : v;
  }
  return { id: model.slice(0, i), params };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw fail(413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function flattenContent(content: ChatRequest['messages'][number]['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('\n');
}

/**
 * Starts the Venice simulator on `host:port` (default 127.0.0.1, random port).
 */
export async function createVeniceSim(options: VeniceSimOptions): Promise<VeniceSim> {
  const opts = optionsSchema.parse(options);
  const models = new Map((opts.models ?? DEFAULT_MODELS).map((m) => [m.id, m]));
  const enclaveKeys = new Map<string, KeyPair>();
  for (const m of models.values()) {
    if (!m.tee) continue;
    const fixed = opts.enclaveSecretKeys[m.id];
    enclaveKeys.set(m.id, fixed ? keyPairFromSecret(hexToBytes(fixed.replace(/^0x/, ''))) : generateKeyPair());
  }
  const authoritySecret = opts.authoritySecretKey
    ? hexToBytes(opts.authoritySecretKey.replace(/^0x/, ''))
    : p256.utils.randomSecretKey();
  const authorityPublicKeyHex = bytesToHex(p256.getPublicKey(authoritySecret, false));
  const state = new SimState(opts.maxRecordedRequests);
  const faults = new FaultControl();

  function rateLimitHeaders(remaining?: number): Record<string, string> {
    const now = Math.floor(Date.now() / 1000);
    const used = state.chatRequestCount % opts.rateLimitRequests;
    return {
      'x-ratelimit-limit-requests': String(opts.rateLimitRequests),
      'x-ratelimit-remaining-requests': String(remaining ?? opts.rateLimitRequests - used),
      'x-ratelimit-reset-requests': String(now - (now % 60) + 60),
      'x-ratelimit-limit-tokens': String(opts.rateLimitTokens),
      'x-ratelimit-remaining-tokens': String(remaining === 0 ? 0 : opts.rateLimitTokens),
      'x-ratelimit-reset-tokens': String(60 - (now % 60)),
      // Venice reports the account's balance on every answer (operator data, never for clients).
      'x-venice-balance-usd': '1234.56',
      'x-venice-balance-diem': '99.5',
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const route =
      req.method === 'POST' && url.pathname === '/api/v1/chat/completions'
        ? 'chat'
        : req.method === 'GET' && url.pathname === '/api/v1/models'
          ? 'models'
          : req.method === 'GET' && url.pathname === '/api/v1/tee/attestation'
            ? 'attestation'
            : undefined;
    const record: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      body: undefined,
      e2ee: Object.values(E2EE_HEADERS).some((h) => req.headers[h] !== undefined),
      encryptedFields: 0,
      model: undefined,
      stream: undefined,
      fault: undefined,
      status: undefined,
    };
    res.on('finish', () => (record.status = res.statusCode));

    // Body first so the record is complete even when a fault short-circuits the answer.
    let raw: Buffer | undefined;
    let bodyError: HttpError | undefined;
    if (route === 'chat') {
      try {
        raw = await readBody(req, opts.maxBodyBytes);
        record.body = JSON.parse(raw.toString('utf8'));
        const b = record.body as { model?: unknown; stream?: unknown; messages?: unknown };
        record.model = typeof b?.model === 'string' ? b.model : undefined;
        record.stream = typeof b?.stream === 'boolean' ? b.stream : undefined;
        if (Array.isArray(b?.messages)) {
          record.encryptedFields = b.messages.filter(
            (m: { content?: unknown }) => typeof m?.content === 'string' && looksEncrypted(m.content),
          ).length;
        }
      } catch (e) {
        bodyError = e instanceof HttpError ? e : fail(400, 'Invalid request parameters', { details: { _errors: ['Body is not valid JSON'] } });
      }
    }
    state.record(record);

    if (!route) return sendJson(res, 404, { error: `Not found: ${req.method} ${url.pathname}` });

    let fault: Fault | undefined;
    const headerFault = req.headers[FAULT_HEADER];
    if (opts.allowFaultHeader && typeof headerFault === 'string') {
      try {
        fault = parseFault(headerFault);
      } catch (e) {
        return sendJson(res, 400, { error: `Invalid ${FAULT_HEADER} header`, details: (e as FaultSyntaxError).message });
      }
    } else {
      fault = faults.take(route);
    }
    record.fault = fault;
    if (fault?.hang) return; // never answer; close() tears the socket down
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (res.destroyed) return;
    if (fault?.status) {
      const headers = route === 'chat' ? rateLimitHeaders(fault.status === 429 ? 0 : undefined) : {};
      return sendJson(res, fault.status, veniceErrorBody(fault.status), headers);
    }

    if (route === 'models') {
      const type = url.searchParams.get('type') ?? 'text';
      const data = type === 'text' || type === 'all' ? [...models.values()].map(modelListEntry) : [];
      return sendJson(res, 200, { object: 'list', type, data });
    }
    if (route === 'attestation') return attestation(url, res);

    if (!bearerMatches(req.headers.authorization, opts.apiKey)) return sendJson(res, 401, veniceErrorBody(401));
    if (bodyError) throw bodyError;
    const ctype = req.headers['content-type'] ?? '';
    if (!ctype.toLowerCase().startsWith('application/json')) throw fail(415);
    return chat(record.body, req, res, fault);
  }

  function attestation(url: URL, res: ServerResponse): void {
    const modelId = url.searchParams.get('model');
    if (!modelId) throw fail(400, 'Invalid request parameters', { details: { model: { _errors: ['Required'] } } });
    const model = models.get(modelId);
    if (!model) throw fail(404);
    const key = enclaveKeys.get(modelId);
    if (!model.tee || !key) throw fail(400, `Model ${modelId} does not support TEE attestation`);
    const nonceHex = url.searchParams.get('nonce') ?? bytesToHex(randomBytes(32));
    if (!/^[0-9a-fA-F]{64}$/.test(nonceHex)) throw fail(400, 'Nonce must be exactly 32 bytes (64 hex characters)');
    const address = ethereumAddress(key.publicKeyHex);
    const quote = buildQuote({
      signingAddress: address,
      nonce: hexToBytes(nonceHex.toLowerCase()),
      measurement: measurementFor(modelId),
      debug: opts.debugEnclave,
      authoritySecretKey: authoritySecret,
    });
    sendJson(res, 200, {
      verified: !opts.debugEnclave,
      nonce: nonceHex,
      model: modelId,
      tee_provider: 'venice-sim',
      tee_hardware: 'intel-tdx',
      intel_quote: Buffer.from(quote).toString('base64'),
      nvidia_payload: null,
      signing_key: key.publicKeyHex,
      signing_address: address,
      signing_algo: 'ecdsa',
      server_verification: {
        tdx: { valid: !opts.debugEnclave, signatureValid: true, certificateChainValid: true, attestationKeyMatch: true },
        nvidia: null,
        signingAddressBinding: { bound: true, reportDataAddress: address },
        nonceBinding: { bound: true, method: 'raw' },
        verifiedAt: new Date().toISOString(),
        verificationDurationMs: 0,
      },
    });
  }

  async function chat(body: unknown, req: IncomingMessage, res: ServerResponse, fault: Fault | undefined) {
    const parsed = chatSchema.safeParse(body);
    if (!parsed.success) {
      throw fail(400, 'Invalid request parameters', { details: z.formatError(parsed.error), issues: parsed.error.issues });
    }
    const request = parsed.data;
    const { id: modelId, params: suffixParams } = splitModelSuffix(request.model);
    const model = models.get(modelId);
    if (!model) throw fail(404);

    // --- E2EE ("inside the enclave") ---
    const clientPub = req.headers[E2EE_HEADERS.clientPubKey];
    const modelPub = req.headers[E2EE_HEADERS.modelPubKey];
    const algo = req.headers[E2EE_HEADERS.signingAlgo];
    const e2ee = clientPub !== undefined || modelPub !== undefined || algo !== undefined;
    let clientPubHex: string | undefined;
    let messages: PlainMessage[];
    if (e2ee) {
      const enclave = enclaveKeys.get(modelId);
      if (!model.e2ee || !enclave) throw fail(400, `Model ${modelId} does not support E2EE`);
      if (typeof clientPub !== 'string' || typeof modelPub !== 'string' || typeof algo !== 'string') {
        throw fail(400, 'E2EE requires X-Venice-TEE-Client-Pub-Key, X-Venice-TEE-Model-Pub-Key and X-Venice-TEE-Signing-Algo');
      }
      if (algo.toLowerCase() !== 'ecdsa') throw fail(400, `Unsupported X-Venice-TEE-Signing-Algo "${algo}", expected "ecdsa"`);
      try {
        parsePublicKey(clientPub);
        const mp = bytesToHex(parsePublicKey(modelPub));
        if (mp !== enclave.publicKeyHex) throw fail(400, 'X-Venice-TEE-Model-Pub-Key does not match the enclave key; fetch a fresh attestation');
      } catch (e) {
        if (e instanceof E2eeError) throw fail(400, 'Invalid public key');
        throw e;
      }
      clientPubHex = clientPub.length === 128 ? `04${clientPub}` : clientPub.toLowerCase();
      if (request.stream !== true) throw fail(400, 'E2EE requires streaming');
      messages = request.messages.map((m) => {
        const c = m.content;
        const mustEncrypt = m.role === 'user' || m.role === 'system';
        if (typeof c !== 'string') {
          if (mustEncrypt) throw fail(400, 'Encrypted field is not valid hex');
          return { role: m.role, content: flattenContent(c) };
        }
        if (!mustEncrypt && !looksEncrypted(c)) return { role: m.role, content: c };
        try {
          return { role: m.role, content: decryptField(c, enclave.secretKey) };
        } catch (e) {
          if (e instanceof E2eeError && e.code === 'INVALID_CIPHERTEXT') throw fail(400, 'Encrypted field is not valid hex');
          throw fail(400, 'Failed to decrypt field');
        }
      });
    } else {
      messages = request.messages.map((m) => ({ role: m.role, content: flattenContent(m.content) }));
    }

    const requested = request.max_completion_tokens ?? request.max_tokens;
    const maxTokens = requested === undefined || requested <= 0 ? model.maxCompletionTokens : Math.min(requested, model.maxCompletionTokens);
    const sim = simulateCompletion(messages, maxTokens);
    if (sim.promptTokens >= model.availableContextTokens) {
      throw fail(400, undefined, {
        error: {
          message: "Your request exceeds the model's maximum context. Please reduce your prompt or completion length.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      });
    }

    const id = `chatcmpl-${bytesToHex(randomBytes(16))}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: sim.promptTokens,
      completion_tokens: sim.completionTokens,
      total_tokens: sim.promptTokens + sim.completionTokens,
      prompt_tokens_details: null,
    };
    const veniceParams = {
      include_venice_system_prompt: !e2ee,
      enable_web_search: 'off',
      enable_web_citations: false,
      include_search_results_in_stream: false,
      return_search_results_as_documents: false,
      strip_thinking_response: false,
      disable_thinking: false,
      ...request.venice_parameters,
      ...suffixParams,
      web_search_citations: [] as unknown[],
    };
    const headers = rateLimitHeaders();

    if (request.stream !== true) {
      const body = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model: modelId,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: sim.content, reasoning_content: null, tool_calls: [] },
            logprobs: null,
            finish_reason: sim.finishReason,
            stop_reason: null,
          },
        ],
        usage,
        prompt_logprobs: null,
        venice_parameters: veniceParams,
      });
      if (fault?.breakAfter !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
        await new Promise<void>((resolve) => res.write(body.slice(0, Math.floor(body.length / 2)), () => resolve()));
        return void res.destroy();
      }
      return sendJson(res, 200, JSON.parse(body), headers);
    }

    const includeUsage = request.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: modelId,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    const events: unknown[] = [
      chunk({ role: 'assistant', content: '' }, null),
      ...sim.pieces.map((p) => chunk({ content: clientPubHex ? encryptField(p, clientPubHex) : p }, null)),
      chunk({}, sim.finishReason),
      ...(includeUsage ? [{ id, object: 'chat.completion.chunk', created, model: modelId, choices: [], usage }] : []),
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    res.flushHeaders();
    let sent = 0;
    for (const ev of events) {
      if (fault?.breakAfter !== undefined && sent >= fault.breakAfter) return void res.destroy();
      if (fault?.slowMs) await sleep(fault.slowMs);
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(ev)}\n\n`, () => resolve()));
      sent++;
    }
    if (fault?.breakAfter !== undefined && sent >= fault.breakAfter) return void res.destroy();
    res.end('data: [DONE]\n\n');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return sendJson(res, e.status, e.body);
      // Never echo internals (or request content) back or to stdout.
      sendJson(res, 500, { error: 'An unknown error occurred' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;

  return {
    url,
    apiBaseUrl: `${url}/api/v1`,
    state,
    faults,
    authorityPublicKeyHex,
    enclavePublicKeyHex(modelId: string) {
      const k = enclaveKeys.get(modelId);
      if (!k) throw new Error(`Model ${modelId} has no enclave: it is unknown or not a TEE model`);
      return k.publicKeyHex;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
