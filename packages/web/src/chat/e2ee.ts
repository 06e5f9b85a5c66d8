/**
 * End-to-end encrypted chat requests, on the page's side. The worker verifies the enclave's
 * attestation and holds the conversation's client key (src/e2ee/worker-side.ts); this module
 * opens a channel per conversation, seals each request body (every message's text encrypted,
 * the three Venice headers), refuses what an E2EE request must never carry, and decrypts the
 * answer's deltas through the worker. Nothing here falls back to plaintext.
 */
import { BOUND_REQUEST_HEADERS } from '@zkcredits/core';
import type { StreamE2ee } from '../api/client';
import { AppError } from '../errors';
import type { AttestationSummary, ChatMessage, E2eeRefused, E2eeWorkerApi, Wire } from '../e2ee/types';

/**
 * Body fields an E2EE request never carries: Venice's E2EE gateway drops tools (and they
 * would travel in plaintext), and the server refuses them.
 */
export const E2EE_FORBIDDEN_FIELDS = ['tools', 'tool_choice', 'functions', 'function_call', 'parallel_tool_calls'] as const;

/** A packed E2EE field: lowercase hex, at least 65 + 12 + 16 bytes. */
const PACKED = /^[0-9a-f]{186,}$/;

/** A conversation's verified enclave and E2EE session (its key is in the worker). */
export type E2eeChannel = { conversationId: string; model: string; sessionId: string; attestation: AttestationSummary };

/**
 * How long one verification (and its session) serves a conversation. Older, the enclave is
 * verified again with a fresh nonce (and a fresh client key) before the next message: TCB
 * status, CRLs and collateral change over time.
 */
export const E2EE_REVERIFY_MS = 30 * 60_000;

/** Whether `channel` may carry the next message of `conversationId` to `model`. */
export function channelFits(channel: E2eeChannel | null, conversationId: string, model: string, now = Date.now()): channel is E2eeChannel {
  return !!channel && channel.conversationId === conversationId && channel.model === model && now - channel.attestation.verifiedAt < E2EE_REVERIFY_MS;
}

export function unwrap<T>(wire: Wire<T>): T {
  if (wire.ok) return wire.value;
  throw new AppError(wire.error.code, wire.error.message, { details: wire.error.details });
}

/**
 * Verifies `model`'s enclave for one conversation (fresh nonce, DCAP) and opens its session.
 * A refusal carries the report, when there is one, for the details panel.
 */
export async function openChannel(
  worker: Pick<E2eeWorkerApi, 'e2eeOpen'>,
  conversationId: string,
  model: string,
): Promise<{ channel: E2eeChannel } | { refused: E2eeRefused }> {
  let opened: Awaited<ReturnType<E2eeWorkerApi['e2eeOpen']>>;
  try {
    opened = await worker.e2eeOpen(model);
  } catch (cause) {
    // The worker itself failed (e.g. the verifier's code did not load): still nothing is sent.
    const details = cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 200) : undefined;
    const message = 'The model’s attestation could not be checked in this browser, so your message was not sent and no credit was used. Reload the page and try again.';
    return { refused: { error: { code: 'attestation_failed', message, ...(details ? { details } : {}) } } };
  }
  if (!opened.ok) return { refused: { error: opened.error, attestation: opened.attestation } };
  return { channel: { conversationId, model, sessionId: opened.sessionId, attestation: opened.attestation } };
}

/** Throws unless `body` is a request an E2EE model can take privately. */
export function assertE2eeBody(body: Record<string, unknown>): void {
  const forbidden = E2EE_FORBIDDEN_FIELDS.filter((f) => f in body);
  if (forbidden.length > 0) {
    throw new AppError('e2ee_unsupported', 'Tools cannot be used with end-to-end encrypted models: they would travel unencrypted. Nothing was sent.', {
      details: `refused fields: ${forbidden.join(', ')}`,
    });
  }
  if (body.stream !== true) throw new AppError('e2ee_unsupported', 'End-to-end encrypted answers must stream. Nothing was sent.');
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.some((m: { content?: unknown }) => typeof m?.content !== 'string' || !PACKED.test(m.content))) {
    throw new AppError('e2ee_failed', 'A message was not encrypted, so nothing was sent.');
  }
}

/** Normalised uncompressed key hex (no 0x, lowercase). */
const keyHex = (k: string) => k.replace(/^0x/, '').toLowerCase();

/**
 * Seals one request: every message encrypted to the attested key, the three headers, and the
 * decryption of the answer. `body` is the plaintext request without `messages`.
 */
export async function sealRequest(
  worker: Pick<E2eeWorkerApi, 'e2eeEncrypt' | 'e2eeDecrypt'>,
  channel: E2eeChannel,
  body: Record<string, unknown>,
  messages: ChatMessage[],
): Promise<{ body: Record<string, unknown>; e2ee: StreamE2ee }> {
  const envelope = unwrap(await worker.e2eeEncrypt(channel.sessionId, messages));
  const headers = Object.fromEntries(Object.entries(envelope.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const names = Object.keys(headers).sort();
  const attested = channel.attestation.modelPublicKeyHex;
  if (
    names.join() !== [...BOUND_REQUEST_HEADERS].sort().join() ||
    !attested ||
    keyHex(headers['x-venice-tee-model-pub-key'] ?? '') !== keyHex(attested)
  ) {
    throw new AppError('e2ee_failed', 'The request was not encrypted to the verified enclave key, so nothing was sent.', { details: names.join(', ') });
  }
  const sealed = { ...body, messages: envelope.messages };
  assertE2eeBody(sealed);
  return {
    body: sealed,
    e2ee: { headers, decrypt: async (contents) => unwrap(await worker.e2eeDecrypt(channel.sessionId, contents)) },
  };
}
