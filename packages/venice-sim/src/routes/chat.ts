// POST /api/v1/chat/completions: validation, Venice model suffixes, E2EE inside the
// "enclave", the deterministic completion, plain JSON or SSE with stream faults.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { simulateCompletion, type PlainMessage } from '../completion.js';
import { rateLimitHeaders, type SimContext } from '../context.js';
import { decryptField, encryptField, looksEncrypted, parsePublicKey } from '@zkcredits/attest/e2ee';
import { isZkCreditsError } from '@zkcredits/core/errors';
import type { Fault } from '../faults.js';
import { E2EE_HEADERS, fail, sendJson } from '../http.js';

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

function flattenContent(content: ChatRequest['messages'][number]['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text).join('\n');
}

export async function chat(ctx: SimContext, body: unknown, req: IncomingMessage, res: ServerResponse, fault: Fault | undefined): Promise<void> {
  const parsed = chatSchema.safeParse(body);
  if (!parsed.success) {
    throw fail(400, 'Invalid request parameters', { details: z.formatError(parsed.error), issues: parsed.error.issues });
  }
  const request = parsed.data;
  const { id: modelId, params: suffixParams } = splitModelSuffix(request.model);
  const model = ctx.models.get(modelId);
  if (!model) throw fail(404);

  // --- E2EE ("inside the enclave") ---
  const clientPub = req.headers[E2EE_HEADERS.clientPubKey];
  const modelPub = req.headers[E2EE_HEADERS.modelPubKey];
  const algo = req.headers[E2EE_HEADERS.signingAlgo];
  const e2ee = clientPub !== undefined || modelPub !== undefined || algo !== undefined;
  let clientPubHex: string | undefined;
  let messages: PlainMessage[];
  if (e2ee) {
    const enclave = ctx.enclaveKeys.get(modelId);
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
      if (isZkCreditsError(e, 'invalid_public_key')) throw fail(400, 'Invalid public key');
      throw e;
    }
    clientPubHex = clientPub.length === 128 ? `04${clientPub}` : clientPub.toLowerCase();
    if (request.stream !== true) throw fail(400, 'E2EE requires streaming');
    // Venice's E2EE gateway drops function calling (`tools`, `tool_choice`, `functions`): the
    // model never sees them and never answers with tool calls. The sim does the same by ignoring them.
    messages = request.messages.map((m) => {
      const c = m.content;
      // Every turn the client sends back travels encrypted, its own earlier answers included
      // (re-encrypted to the enclave): plaintext there is refused like live Venice. An assistant
      // turn without content (a tool-call turn) and `tool` results pass.
      const mustEncrypt = m.role !== 'tool' && !(m.role === 'assistant' && (c == null || c === ''));
      if (typeof c !== 'string') {
        if (mustEncrypt) throw fail(400, 'Encrypted field is not valid hex');
        return { role: m.role, content: flattenContent(c) };
      }
      if (!mustEncrypt && !looksEncrypted(c)) return { role: m.role, content: c };
      if (!looksEncrypted(c)) throw fail(400, 'Encrypted field is not valid hex');
      try {
        return { role: m.role, content: decryptField(c, enclave.secretKey) };
      } catch (e) {
        if (isZkCreditsError(e, 'invalid_ciphertext')) throw fail(400, 'Encrypted field is not valid hex');
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
  const headers = rateLimitHeaders(ctx);

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
    if (fault?.breakAfter !== undefined || fault?.stallAfter !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
      const bytes = Buffer.from(body, 'utf8');
      const half = Math.floor(bytes.length / 2);
      await new Promise<void>((resolve) => res.write(bytes.subarray(0, half), () => resolve()));
      if (fault.stallAfter !== undefined) await ctx.faults.hold(res);
      if (fault.breakAfter !== undefined || res.destroyed) return void res.destroy();
      return void res.end(bytes.subarray(half));
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
  let stalled = false;
  /** A `stall-after` fault holds the answer once, after its count of events (at the latest before [DONE]). */
  const stall = async (last: boolean) => {
    if (fault?.stallAfter === undefined || stalled || (sent < fault.stallAfter && !last)) return;
    stalled = true;
    await ctx.faults.hold(res);
  };
  for (const ev of events) {
    await stall(false);
    if (fault?.breakAfter !== undefined && sent >= fault.breakAfter) return void res.destroy();
    if (fault?.slowMs) await sleep(fault.slowMs);
    if (res.destroyed) return;
    await new Promise<void>((resolve) => res.write(`data: ${JSON.stringify(ev)}\n\n`, () => resolve()));
    sent++;
  }
  await stall(true);
  if (res.destroyed) return;
  if (fault?.breakAfter !== undefined && sent >= fault.breakAfter) return void res.destroy();
  res.end('data: [DONE]\n\n');
}
