/**
 * `zk.fetch`: a drop-in `fetch` for OpenAI clients pointed at a zkcredits server. It pays
 * `POST /v1/chat/completions` with a proof, passes `GET /v1/models` through, and answers every
 * other route with an OpenAI-shaped error naming the supported ones. Only the headers a call
 * needs go out: the caller's API key and its SDK's platform headers (OS, runtime, versions) are
 * not forwarded, since they would help tell callers apart.
 */
import { isZkCreditsError } from '@zkcredits/core';
import { ClientError } from './errors.js';
import { errorResponse, openAiError } from './error-response.js';
import type { FetchFn } from './server-api.js';

/** What `zk.fetch` needs from the client. */
export type ZkFetchHost = {
  origin: string;
  passThrough: FetchFn;
  /** Pays one chat request; resolves with the answer for the caller, rejects with a `ClientError`. */
  chat(body: Record<string, unknown>, options: { signal?: AbortSignal }): Promise<Response>;
};

const SUPPORTED = 'POST /v1/chat/completions (paid by proof) and GET /v1/models';

type Incoming = { url: URL; method: string; signal: AbortSignal | undefined; body: () => Promise<string> };

function isRequest(input: unknown): input is Request {
  return typeof input === 'object' && input !== null && !(input instanceof URL) && typeof (input as Request).url === 'string' && typeof (input as Request).text === 'function';
}

async function bodyText(body: BodyInit | null | undefined): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  return new Response(body).text();
}

function incoming(input: string | URL | Request, init?: RequestInit): Incoming {
  const request = isRequest(input) ? input : undefined;
  const href = typeof input === 'string' ? input : input instanceof URL ? input.href : (request as Request).url;
  return {
    url: new URL(href),
    method: (init?.method ?? request?.method ?? 'GET').toUpperCase(),
    signal: init?.signal ?? request?.signal ?? undefined,
    body: () => (init?.body !== undefined ? bodyText(init.body) : request ? request.text() : Promise.resolve('')),
  };
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The drop-in fetch over `host`. */
export function createZkFetch(host: ZkFetchHost): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    let req: Incoming;
    try {
      req = incoming(input, init);
    } catch {
      return openAiError({ code: 'invalid_request', message: 'The request URL is not a URL.', status: 400 });
    }
    const href = `${req.url.origin}${req.url.pathname}`;
    if (!href.startsWith(`${host.origin}/`)) {
      return openAiError({
        code: 'route_not_supported',
        message: `This fetch pays only the zkcredits server ${host.origin}; ${req.url.origin} was not called. Use ${host.origin}/v1 as the base URL.`,
        status: 400,
        retry: false,
      });
    }
    const route = href.slice(host.origin.length).replace(/\/+$/, '');
    if (route === '/v1/models') {
      if (req.method !== 'GET') return openAiError({ code: 'method_not_allowed', message: `Use GET /v1/models. Supported: ${SUPPORTED}.`, status: 405, retry: false });
      return host.passThrough(`${host.origin}/v1/models`, { headers: { accept: 'application/json' }, ...(req.signal ? { signal: req.signal } : {}) });
    }
    if (route !== '/v1/chat/completions') {
      return openAiError({
        code: 'route_not_supported',
        message: `${req.method} ${route || '/'} is not supported by zkcredits. Supported: ${SUPPORTED}. With the Vercel AI SDK use @ai-sdk/openai-compatible (or provider.chat(model)): it calls /v1/chat/completions, not /v1/responses.`,
        status: 404,
        type: 'not_found_error',
        retry: false,
      });
    }
    if (req.method !== 'POST') return openAiError({ code: 'method_not_allowed', message: `Use POST /v1/chat/completions. Supported: ${SUPPORTED}.`, status: 405, retry: false });
    let body: unknown;
    try {
      body = JSON.parse(await req.body());
    } catch {
      return openAiError({ code: 'invalid_json', message: 'The request body is not JSON. Send the chat request as a JSON object.', status: 400, retry: false });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return openAiError({ code: 'invalid_request', message: 'The request body must be a JSON object.', status: 400, retry: false });
    }
    try {
      return await host.chat(body as Record<string, unknown>, req.signal ? { signal: req.signal } : {});
    } catch (error) {
      if (req.signal?.aborted || isZkCreditsError(error, 'aborted')) throw req.signal ? abortError(req.signal) : error;
      return errorResponse(error);
    }
  };
}

/** Refuses a body that already carries a proof (a second payment would be ambiguous). */
export function assertUnpaid(body: Record<string, unknown>): void {
  if ('zkcredits' in body) {
    throw new ClientError('invalid_request', 'The request already carries a "zkcredits" member; this client adds the proof itself.', { param: 'zkcredits' });
  }
}
