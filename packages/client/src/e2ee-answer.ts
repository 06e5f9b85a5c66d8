/**
 * Decrypting an end-to-end encrypted answer for the caller: each SSE event's `delta.content` and
 * `delta.reasoning_content` are decrypted with the request's session, then re-emitted as plain
 * OpenAI SSE (the caller asked `stream: true`) or folded into one `chat.completion` JSON answer
 * (`stream: false`). A delta that is not ciphertext for this session fails the answer: it is
 * never shown as text. The session's client key is zeroed when the answer ends.
 */
import type { E2eeSession } from '@zkcredits/attest';
import { isZkCreditsError } from '@zkcredits/core';
import { ClientError, briefly } from './errors.js';
import { CompletionBuilder, SSE_DONE, readSse, sseEvent, type ChatChunk } from './sse.js';

export type DecryptAnswerOptions = {
  /** What the caller asked: SSE back (`true`) or one JSON completion (`false`). */
  stream: boolean;
  model: string;
  /** Called once when the answer could not be decrypted (e.g. to verify the enclave again next time). */
  onDecryptFailure?(): void;
};

/** Decrypts one chunk's deltas in place. Throws `stream_invalid`/`decrypt_failed` (attest) on plaintext or bad ciphertext. */
function decryptChunk(chunk: ChatChunk, session: E2eeSession): ChatChunk {
  for (const choice of chunk.choices ?? []) {
    const delta = choice.delta;
    if (!delta) continue;
    if (typeof delta.content === 'string') delta.content = session.decryptContent(delta.content);
    if (typeof delta.reasoning_content === 'string') delta.reasoning_content = session.decryptContent(delta.reasoning_content);
  }
  return chunk;
}

function decryptFailed(error: unknown): ClientError {
  return new ClientError('e2ee_failed', 'The answer did not arrive encrypted to this request\'s key, so it was not shown. Its credit was used.', {
    details: isZkCreditsError(error) ? `${error.code}: ${error.shortMessage}` : briefly(error),
    cause: error,
  });
}

function brokeOff(details: string): ClientError {
  return new ClientError('server_rejected', 'The answer broke off after it had started; its credit was used.', { details, serverCode: 'stream_invalid', status: 502 });
}

/** Parsed, decrypted chunks of an encrypted SSE answer; throws unless it ends with `[DONE]`. */
async function* decryptedChunks(body: ReadableStream<Uint8Array>, session: E2eeSession): AsyncGenerator<ChatChunk> {
  let done = false;
  try {
    for await (const event of readSse(body)) {
      if ('done' in event) {
        done = true;
        return;
      }
      let chunk: ChatChunk;
      try {
        chunk = JSON.parse(event.data) as ChatChunk;
      } catch (cause) {
        throw decryptFailed(cause);
      }
      if (chunk.error !== undefined) {
        const e = chunk.error as { code?: unknown; message?: unknown };
        throw brokeOff(`${typeof e.code === 'string' ? e.code : 'error'}: ${typeof e.message === 'string' ? e.message.slice(0, 200) : ''}`);
      }
      try {
        yield decryptChunk(chunk, session);
      } catch (error) {
        if (isZkCreditsError(error) && error.code !== 'stream_invalid' && error.code !== 'decrypt_failed' && error.code !== 'invalid_ciphertext') throw error;
        throw decryptFailed(error);
      }
    }
  } catch (error) {
    if (isZkCreditsError(error)) throw error;
    throw brokeOff(briefly(error) ?? 'the connection failed mid-answer');
  } finally {
    session.destroy();
  }
  if (!done) throw brokeOff('the stream ended before [DONE]');
}

/**
 * The caller's answer for a 200 encrypted stream `res`. With `stream: false` it resolves once
 * the whole answer is in (and rejects with a `ClientError` if it cannot be decrypted); with
 * `stream: true` it resolves at once with an SSE body, and a failure later ends that body with
 * an OpenAI-shaped error event instead of `[DONE]`.
 */
export async function decryptAnswer(res: Response, session: E2eeSession, options: DecryptAnswerOptions): Promise<Response> {
  if (!res.body) {
    session.destroy();
    throw brokeOff('the answer had no body');
  }
  const chunks = decryptedChunks(res.body, session);
  const fail = (error: unknown) => {
    if (isZkCreditsError(error, 'e2ee_failed')) options.onDecryptFailure?.();
  };
  if (!options.stream) {
    const completion = new CompletionBuilder();
    try {
      for await (const chunk of chunks) completion.add(chunk);
    } catch (error) {
      fail(error);
      throw error;
    }
    return new Response(JSON.stringify(completion.build(options.model)), { status: 200, headers: { 'content-type': 'application/json' } });
  }
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          controller.enqueue(SSE_DONE);
          controller.close();
        } else {
          controller.enqueue(sseEvent(next.value));
        }
      } catch (error) {
        fail(error);
        const e = isZkCreditsError(error) ? error : decryptFailed(error);
        controller.enqueue(sseEvent({ error: { message: e.shortMessage, type: 'zkcredits_client_error', code: e.code, param: null } }));
        controller.close();
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' } });
}
