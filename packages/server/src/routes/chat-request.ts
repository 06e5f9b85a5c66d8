import { BOUND_REQUEST_HEADERS, PROOF_BODY_FIELD } from '@zkcredits/core';
import { z } from 'zod';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

/**
 * What one credit buys is what the provider is asked to do, so only these OpenAI chat fields
 * (and Venice's documented sampling extras) are forwarded (PROTOCOL.md, "Forwarded fields").
 */
export const FORWARDED_CHAT_FIELDS = [
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'temperature',
  'top_p',
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'stop',
  'seed',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'reasoning_effort',
  // Venice sampling extras
  'top_k',
  'min_p',
  'repetition_penalty',
  'min_temp',
  'max_temp',
  'stop_token_ids',
  // filtered key by key below
  'venice_parameters',
] as const;

/**
 * OpenAI fields that would only identify or link the caller (or pick a pricier tier): accepted for
 * compatibility with SDKs, never forwarded.
 */
export const DROPPED_CHAT_FIELDS = ['user', 'safety_identifier', 'metadata', 'store', 'prompt_cache_key', 'service_tier'] as const;

/** Always allowed in `venice_parameters`: end-to-end encryption needs it. */
const E2EE_PARAMETER = 'enable_e2ee';

/**
 * Function calling, refused on end-to-end encrypted requests: Venice's E2EE gateway drops it (the
 * model never sees the tools) and the schemas would travel in plaintext beside the ciphertext.
 */
export const E2EE_REFUSED_FIELDS = ['tools', 'tool_choice', 'functions', 'function_call'] as const;

/** Tokens charged per message for the chat template around it (role markers, separators). */
const TOKENS_PER_MESSAGE = 4;
/** Packed E2EE payload overhead: ephemeral public key (65 B) + nonce (12 B) + GCM tag (16 B). */
const E2EE_OVERHEAD_BYTES = 93;
const E2EE_PAYLOAD = /^[0-9a-f]+$/;

const tokenCount = z.number().int().nullable().optional();
const chatSchema = z.looseObject({
  model: z.string({ error: 'model is required (a string)' }),
  messages: z.array(z.unknown(), { error: 'messages is required (an array)' }).min(1, { error: 'messages must not be empty' }),
  stream: z.boolean({ error: 'stream must be true or false' }).nullable().optional(),
  max_tokens: tokenCount,
  max_completion_tokens: tokenCount,
  n: z.number().int().nullable().optional(),
  venice_parameters: z.record(z.string(), z.unknown(), { error: 'venice_parameters must be an object' }).nullable().optional(),
});

export type PreparedChat = {
  /** The body to send upstream: allow-listed fields only, output capped. */
  forward: Record<string, unknown>;
  stream: boolean;
  model: string;
  /** Conservative estimate of the input tokens (PROTOCOL.md, "Input per credit"). */
  inputTokens: number;
  /** End-to-end encrypted (the messages are ciphertext: never read, never matched against the policy). */
  e2ee: boolean;
  /** The lowest of the client's `max_tokens` / `max_completion_tokens`, when it gave one. */
  clientMaxTokens: number | undefined;
};

/**
 * What pays for the request, and so bounds it: one credit or flat ticket (the per-credit caps of
 * ZKC_MODELS), or a metered call (bounded by C_max later, from the input size and the model's price).
 */
export type PaymentMode = 'credit' | 'metered';

/**
 * Validates an OpenAI chat request against what one credit buys and returns the body to
 * forward. Refuses (400, nothing spent) unknown fields, Venice parameters the operator has not
 * enabled, more output than the per-credit cap and more input than the per-credit input cap. A
 * metered call (`mode` metered) has no per-credit caps: its route bounds it by C_max.
 */
export function prepareChat(config: Config, body: Record<string, unknown>, headers: Record<string, string>, mode: PaymentMode = 'credit'): PreparedChat {
  const parsed = chatSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ApiError('invalid_request', { message: `Invalid chat request: ${issue.message}.`, param: issue.path.join('.') || undefined });
  }
  const req = parsed.data;
  const model = config.models.find((m) => m.id === req.model);
  if (!model) throw new ApiError('model_not_allowed', { param: 'model', details: `got ${JSON.stringify(req.model.slice(0, 100))}` });
  if (req.n != null && req.n !== 1) throw new ApiError('invalid_request', { message: 'One credit pays for one completion: set n to 1 or leave it out.', param: 'n' });
  const cap = mode === 'metered' ? Number.MAX_SAFE_INTEGER : model.maxTokensPerCredit;
  for (const name of ['max_tokens', 'max_completion_tokens'] as const) {
    const v = req[name];
    if (v != null && (v < 1 || v > cap)) {
      throw mode === 'metered'
        ? new ApiError('invalid_request', { param: name, message: `${name} must be at least 1 (a metered call's output is capped from C_max and the input; a lower cap of yours is kept).` })
        : new ApiError('max_tokens_exceeded', { param: name, details: `${name} must be 1..${cap} for ${model.id}, got ${v}` });
    }
  }
  const given = [req.max_tokens, req.max_completion_tokens].filter((v): v is number => v != null);
  const clientMaxTokens = given.length ? Math.min(...given) : undefined;

  const e2ee = req.venice_parameters?.[E2EE_PARAMETER] === true || BOUND_REQUEST_HEADERS.some((h) => headers[h] !== undefined);
  if (e2ee) {
    for (const key of E2EE_REFUSED_FIELDS) {
      if (body[key] != null) {
        throw new ApiError('unsupported_parameter', {
          param: key,
          message:
            "Function calling does not work end-to-end encrypted: Venice's E2EE gateway drops tools, and they would travel in plaintext beside the encrypted messages. Remove tools, tool_choice and functions, or send the request without the X-Venice-TEE-* headers.",
        });
      }
    }
  }

  const forward: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === PROOF_BODY_FIELD || (DROPPED_CHAT_FIELDS as readonly string[]).includes(key)) continue;
    if (!(FORWARDED_CHAT_FIELDS as readonly string[]).includes(key)) {
      throw new ApiError('unsupported_parameter', { param: key.slice(0, 64) });
    }
    forward[key] = value;
  }
  if (req.venice_parameters) {
    const allowed = new Set([E2EE_PARAMETER, ...config.veniceParameters]);
    for (const key of Object.keys(req.venice_parameters)) {
      if (!allowed.has(key)) {
        throw new ApiError('unsupported_parameter', {
          param: `venice_parameters.${key.slice(0, 64)}`,
          message: 'This server does not enable that Venice parameter (it may be billed on top of the completion). Remove it; GET /v1/zkcredits/config lists the enabled ones.',
        });
      }
    }
  }
  if (mode === 'credit' && req.max_tokens == null && req.max_completion_tokens == null) forward.max_completion_tokens = cap;

  const inputTokens = estimateInputTokens(forward, e2ee);
  if (mode === 'credit' && inputTokens > model.maxInputTokensPerCredit) {
    throw new ApiError('input_tokens_exceeded', {
      param: 'messages',
      details: `about ${inputTokens} input tokens, at most ${model.maxInputTokensPerCredit} per credit for ${model.id}`,
    });
  }
  return { forward, stream: req.stream === true, model: model.id, inputTokens, e2ee, clientMaxTokens };
}

function utf8(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** Bytes of plaintext one string of message content stands for (an E2EE payload: what the ciphertext implies). */
function contentBytes(content: string, e2ee: boolean): number {
  if (e2ee && content.length % 2 === 0 && content.length >= 2 * E2EE_OVERHEAD_BYTES && E2EE_PAYLOAD.test(content)) {
    return content.length / 2 - E2EE_OVERHEAD_BYTES;
  }
  return utf8(content);
}

/**
 * An upper bound of the input tokens of a chat request: byte-level BPE tokenizers never make a
 * token of less than one byte, so UTF-8 bytes bound the tokens of text. Text content counts its
 * bytes (E2EE content: the plaintext bytes its ciphertext implies); everything else the model
 * reads (other message fields, non-text parts, tools, tool_choice, response_format) counts its
 * JSON bytes; each message adds the template overhead.
 */
export function estimateInputTokens(body: Record<string, unknown>, e2ee: boolean): number {
  let total = utf8(body.tools) + utf8(body.tool_choice) + utf8(body.response_format);
  for (const message of body.messages as unknown[]) {
    total += TOKENS_PER_MESSAGE;
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      total += utf8(message);
      continue;
    }
    const { content, ...rest } = message as Record<string, unknown>;
    total += utf8(rest);
    if (typeof content === 'string') total += contentBytes(content, e2ee);
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { type?: unknown; text?: unknown } | null)?.type === 'text' ? (part as { text?: unknown }).text : undefined;
        total += typeof text === 'string' ? contentBytes(text, e2ee) : utf8(part);
      }
    } else total += utf8(content);
  }
  return total;
}

