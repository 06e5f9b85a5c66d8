/**
 * Client errors as OpenAI-shaped HTTP answers, so every OpenAI client shows them the way it shows
 * a server's: `{"error": {"message", "type", "code", "param"}}` with a fitting status. Errors the
 * server sent keep its status, code and `Retry-After`. `x-should-retry` tells the OpenAI SDK
 * whether retrying can help (it never sends plaintext or spends a credit for nothing).
 */
import { isZkCreditsError } from '@zkcredits/core';
import type { ClientError, ClientErrorCode } from './errors.js';

type Spec = { status: number; type: string; retry: boolean };

const SPECS: Record<ClientErrorCode, Spec> = {
  server_unavailable: { status: 502, type: 'server_error', retry: true },
  vk_mismatch: { status: 421, type: 'invalid_request_error', retry: false },
  wrong_chain: { status: 421, type: 'invalid_request_error', retry: false },
  wrong_contract: { status: 421, type: 'invalid_request_error', retry: false },
  tree_mismatch: { status: 502, type: 'server_error', retry: true },
  chain_unavailable: { status: 503, type: 'server_error', retry: true },
  no_credits: { status: 402, type: 'insufficient_quota', retry: false },
  credits_not_synced: { status: 503, type: 'server_error', retry: true },
  credits_busy: { status: 429, type: 'rate_limit_error', retry: true },
  server_rejected: { status: 502, type: 'server_error', retry: true },
  retries_exhausted: { status: 503, type: 'server_error', retry: false },
  prover_failed: { status: 500, type: 'server_error', retry: true },
  e2ee_unsupported: { status: 400, type: 'invalid_request_error', retry: false },
  e2ee_unknown: { status: 503, type: 'server_error', retry: true },
  attestation_failed: { status: 502, type: 'server_error', retry: true },
  e2ee_failed: { status: 502, type: 'server_error', retry: false },
  route_not_supported: { status: 404, type: 'not_found_error', retry: false },
  invalid_request: { status: 400, type: 'invalid_request_error', retry: false },
  purchase_failed: { status: 400, type: 'invalid_request_error', retry: false },
  store_failed: { status: 500, type: 'server_error', retry: false },
  aborted: { status: 499, type: 'invalid_request_error', retry: false },
  ticket_reused: { status: 409, type: 'invalid_request_error', retry: false },
  ticket_in_use: { status: 409, type: 'rate_limit_error', retry: true },
  account_revoked: { status: 403, type: 'permission_error', retry: false },
  invalid_today: { status: 400, type: 'invalid_request_error', retry: false },
  state_refused: { status: 502, type: 'server_error', retry: false },
};

type Fields = { code: string; message: string; status?: number; type?: string; param?: string | null; retryAfter?: number; retry?: boolean };

/** An OpenAI-shaped error answer. */
export function openAiError(f: Fields): Response {
  const status = f.status ?? 400;
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-zkcredits-client-error': f.code };
  if (f.retryAfter) headers['retry-after'] = String(f.retryAfter);
  if (f.retry !== undefined) headers['x-should-retry'] = String(f.retry);
  const body = { error: { message: f.message, type: f.type ?? 'invalid_request_error', code: f.code, param: f.param ?? null } };
  return new Response(JSON.stringify(body), { status, headers });
}

/** The answer for an error thrown while paying a request (not for aborts: those reject like fetch). */
export function errorResponse(error: unknown): Response {
  if (!isZkCreditsError(error)) {
    return openAiError({ code: 'internal_error', message: 'The zkcredits client failed unexpectedly. No credit was used unless an answer had begun.', status: 500, type: 'server_error', retry: false });
  }
  const e = error as typeof error & Partial<Pick<ClientError, 'serverCode' | 'status' | 'retryAfter' | 'serverType'>>;
  const spec = SPECS[e.code as ClientErrorCode] ?? { status: 500, type: 'server_error', retry: false };
  if (e.code === 'server_rejected' && e.serverCode && e.status) {
    // The server's own answer: keep its status and code so SDKs react as they would to the server.
    return openAiError({
      code: e.serverCode,
      message: e.shortMessage,
      status: e.status,
      type: e.serverType ?? (e.status >= 500 ? 'server_error' : 'invalid_request_error'),
      param: e.param ?? null,
      ...(e.retryAfter ? { retryAfter: e.retryAfter } : {}),
    });
  }
  return openAiError({
    code: e.code,
    message: e.details ? `${e.shortMessage} (${e.details})` : e.shortMessage,
    status: spec.status,
    type: spec.type,
    param: e.param ?? null,
    retry: spec.retry,
    ...(e.retryAfter ? { retryAfter: e.retryAfter } : {}),
  });
}
