/**
 * The proxy's routes: `POST /v1/chat/completions` (paid by proof through the client, a fresh proof
 * per request: a ticket of an open v2 account when there is one, else a credit), `GET /v1/models` and `GET /v1/models/{id}` (the server's list, through the client),
 * `GET /health`. `/v1/responses` and everything else are answered with a 404 naming the supported
 * routes. Nothing here logs or keeps a prompt, an answer or a credential.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AttestationLevel } from '@zkcredits/attest';
import type { ZkCreditsClient } from '@zkcredits/client';
import { readBody } from './body.js';
import { sendError, statusOf, type ProxyErrorCode } from './errors.js';
import { forwardResponse } from './forward.js';

/** What a route needs. */
export type RouteContext = {
  client: ZkCreditsClient;
  maxBodyBytes: number;
  attestation: AttestationLevel;
  /** Headers every answer carries (CORS for a listed origin). */
  headers: Record<string, string>;
  /** Aborted when the caller goes away or the proxy stops waiting for this request. */
  signal: AbortSignal;
};

/** What happened, for the proxy's events (never a prompt, an answer or a header's value). */
export type RouteOutcome = { status: number; error?: string; model?: string; stream?: boolean; paid?: boolean };

export const CHAT_ROUTE = '/v1/chat/completions';
const SUPPORTED = `POST ${CHAT_ROUTE} and GET /v1/models`;

/** The request's path without its query and trailing slashes. */
export function routeOf(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!.replace(/\/+$/, '');
  return path === '' ? '/' : path;
}

function refuse(res: ServerResponse, ctx: RouteContext, code: ProxyErrorCode, message: string): RouteOutcome {
  sendError(res, code, message, { headers: ctx.headers });
  return { status: statusOf(code), error: code };
}

/** Credits, and calls of open v2 accounts, left for this deployment, as headers (omitted if the store cannot say). */
async function creditsLeft(client: ZkCreditsClient): Promise<Record<string, string>> {
  try {
    const balance = await client.balance();
    return {
      'x-zkcredits-credits-left': String(balance.unspent),
      // Flat tickets left, and the calls metered balances still cover at C_max.
      'x-zkcredits-calls-left': String(balance.accounts.reduce((sum, a) => sum + (a.recoveryNeeded ? 0 : a.kind === 'flat' ? a.callsLeft : a.callsAtCmax), 0)),
    };
  } catch {
    return {};
  }
}

/** `dcap` (or the configured level) for a model the client end-to-end encrypts to, `none` otherwise. */
async function attestationOf(ctx: RouteContext, model: string | undefined): Promise<Record<string, string>> {
  if (!model) return {};
  try {
    const info = (await ctx.client.models(ctx.signal)).find((m) => m.id === model);
    return { 'x-zkcredits-attestation': info?.e2ee === true ? ctx.attestation : 'none' };
  } catch {
    return {};
  }
}

async function chat(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<RouteOutcome> {
  const body = await readBody(req, ctx.maxBodyBytes);
  if (!body.ok) {
    if (body.reason === 'too_large') {
      return refuse(res, ctx, 'request_too_large', `The request body is larger than this proxy's limit of ${ctx.maxBodyBytes} bytes. Nothing was sent and no credit was used.`);
    }
    return refuse(res, ctx, 'invalid_request', 'The request body could not be read. Nothing was sent and no credit was used.');
  }
  let model: string | undefined;
  let stream = false;
  try {
    const parsed = JSON.parse(body.text) as { model?: unknown; stream?: unknown };
    if (typeof parsed.model === 'string') model = parsed.model;
    stream = parsed.stream === true;
  } catch {
    // The client answers a body that is not JSON with its own OpenAI-shaped error.
  }
  const answer = await ctx.client.fetch(`${ctx.client.server}${CHAT_ROUTE}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    body: body.text,
    signal: ctx.signal,
  });
  // The client marks the credit spent before it hands a 200 over: the count below includes it.
  const extra = { ...ctx.headers, ...(await creditsLeft(ctx.client)), ...(answer.ok ? await attestationOf(ctx, model) : {}) };
  const error = answer.ok ? undefined : (answer.headers.get('x-zkcredits-client-error') ?? `http_${answer.status}`);
  await forwardResponse(answer, res, extra);
  return { status: answer.status, ...(error ? { error } : {}), ...(model ? { model } : {}), stream, paid: answer.ok };
}

async function models(res: ServerResponse, ctx: RouteContext, id: string | undefined): Promise<RouteOutcome> {
  const answer = await ctx.client.fetch(`${ctx.client.server}/v1/models`, { signal: ctx.signal });
  const extra = { ...ctx.headers, ...(await creditsLeft(ctx.client)) };
  if (id === undefined || !answer.ok) {
    await forwardResponse(answer, res, extra);
    return { status: answer.status };
  }
  const list = (await answer.json()) as { data?: { id?: unknown }[] };
  const model = list.data?.find((m) => m.id === id);
  if (!model) return refuse(res, ctx, 'model_not_found', `The zkcredits server does not offer the model ${JSON.stringify(id.slice(0, 200))}. GET /v1/models lists those it does.`);
  await forwardResponse(Response.json(model), res, extra);
  return { status: 200, model: id };
}

/** Answers one authorised request. */
export async function route(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<RouteOutcome> {
  const path = routeOf(req.url);
  const method = req.method ?? 'GET';
  if (path === CHAT_ROUTE) {
    if (method !== 'POST') return refuse(res, ctx, 'method_not_allowed', `Use POST ${CHAT_ROUTE}. Supported: ${SUPPORTED}.`);
    return chat(req, res, ctx);
  }
  if (path === '/v1/models' || path.startsWith('/v1/models/')) {
    if (method !== 'GET') return refuse(res, ctx, 'method_not_allowed', `Use GET /v1/models. Supported: ${SUPPORTED}.`);
    const id = path === '/v1/models' ? undefined : decodeURIComponent(path.slice('/v1/models/'.length));
    return models(res, ctx, id);
  }
  if (path === '/health') {
    if (method !== 'GET') return refuse(res, ctx, 'method_not_allowed', 'Use GET /health.');
    const text = JSON.stringify({ status: 'ok' });
    res.writeHead(200, { ...ctx.headers, 'content-type': 'application/json', 'content-length': String(text.length) }).end(text);
    return { status: 200 };
  }
  if (path === '/v1/responses' || path.startsWith('/v1/responses/')) {
    return refuse(
      res,
      ctx,
      'route_not_supported',
      `${method} ${path} (the OpenAI Responses API) is not supported by zkcredits: use POST ${CHAT_ROUTE}. ` +
        'With the Vercel AI SDK use @ai-sdk/openai-compatible, or provider.chat(model) with @ai-sdk/openai; with the OpenAI SDK use client.chat.completions.create.',
    );
  }
  return refuse(res, ctx, 'route_not_supported', `${method} ${path} is not supported by zkcredits. Supported: ${SUPPORTED} (base URL http://<this proxy>/v1).`);
}
