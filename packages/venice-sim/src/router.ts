// One request through the sim: match the route, record it (body included), apply a fault
// (header or armed), check the bearer key for chat, and hand it to its route. TEE chats that
// complete are remembered (request and response hashes) for `/tee/signature`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { rateLimitHeaders, type SimContext } from './context.js';
import { looksEncrypted } from '@zkcredits/attest/e2ee';
import { veniceErrorBody } from './errors-http.js';
import { FaultSyntaxError, parseFault, type Fault, type FaultRoute } from './faults.js';
import { E2EE_HEADERS, FAULT_HEADER, HttpError, bearerMatches, fail, readBody, sendJson } from './http.js';
import { attestation } from './routes/attestation.js';
import { chat } from './routes/chat.js';
import { models } from './routes/models.js';
import { isPcsPath, pcs } from './routes/pcs.js';
import { signature } from './routes/signature.js';
import type { RecordedRequest } from './state.js';

function matchRoute(method: string | undefined, pathname: string): Exclude<FaultRoute, 'any'> | undefined {
  if (method === 'POST' && pathname === '/api/v1/chat/completions') return 'chat';
  if (method === 'GET' && pathname === '/api/v1/models') return 'models';
  if (method === 'GET' && pathname === '/api/v1/tee/attestation') return 'attestation';
  if (method === 'GET' && pathname === '/api/v1/tee/signature') return 'signature';
  if (method === 'GET' && isPcsPath(pathname)) return 'pcs';
  return undefined;
}

/**
 * Hashes every byte the chat route sends; when a TEE model's answer completes with 200, records
 * its receipt under the completion id (the first `"id":"chatcmpl-…"` of the body).
 */
function recordReceipt(ctx: SimContext, res: ServerResponse, modelId: string, requestHash: string): void {
  const hash = sha256.create();
  let head = '';
  const feed = (chunk: unknown, encoding?: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const bytes =
      typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
    hash.update(bytes);
    if (head.length < 4096) head += bytes.toString('utf8', 0, Math.min(bytes.length, 4096));
  };
  const write = res.write.bind(res) as (...a: unknown[]) => boolean;
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
  res.write = ((...a: unknown[]) => (feed(a[0], a[1]), write(...a))) as ServerResponse['write'];
  res.end = ((...a: unknown[]) => (feed(a[0], a[1]), end(...a))) as ServerResponse['end'];
  res.on('finish', () => {
    const id = /"id"\s*:\s*"(chatcmpl-[0-9A-Za-z_-]+)"/.exec(head)?.[1];
    if (res.statusCode === 200 && id) ctx.receipts.record(id, { model: modelId, requestHash, responseHash: bytesToHex(hash.digest()) });
  });
}

export async function handle(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { opts, state } = ctx;
  const url = new URL(req.url ?? '/', 'http://sim');
  const route = matchRoute(req.method, url.pathname);
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
  let bodyError: HttpError | undefined;
  let requestHash = '';
  if (route === 'chat') {
    try {
      const raw = await readBody(req, opts.maxBodyBytes);
      requestHash = bytesToHex(sha256(raw));
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
    fault = ctx.faults.take(route);
  }
  record.fault = fault;
  if (fault?.hang) return; // never answer; close() tears the socket down
  if (fault?.delayMs) await sleep(fault.delayMs);
  if (res.destroyed) return;
  if (fault?.status) {
    const headers = route === 'chat' ? rateLimitHeaders(ctx, fault.status === 429 ? 0 : undefined) : {};
    return sendJson(res, fault.status, veniceErrorBody(fault.status), headers);
  }

  if (route === 'models') return models(ctx, url, res);
  if (route === 'attestation') return attestation(ctx, url, res);
  if (route === 'signature') return signature(ctx, url, res);
  if (route === 'pcs') return pcs(ctx, url, res);

  if (!bearerMatches(req.headers.authorization, opts.apiKey)) return sendJson(res, 401, veniceErrorBody(401));
  if (bodyError) throw bodyError;
  const ctype = req.headers['content-type'] ?? '';
  if (!ctype.toLowerCase().startsWith('application/json')) throw fail(415);
  const teeModel = record.model === undefined ? undefined : ctx.models.get(record.model.split(':')[0]!);
  if (teeModel?.tee) recordReceipt(ctx, res, teeModel.id, requestHash);
  return chat(ctx, record.body, req, res, fault);
}
