/**
 * One E2EE conversation with an attested enclave key: a fresh client key pair, the three Venice
 * request headers, encryption of every message's text content, and per-delta decryption of the
 * streamed answer. Plaintext where ciphertext is expected fails closed. `destroy()` zeroes the
 * client secret; make a new session per conversation (or per request).
 *
 * @example
 * const session = createE2eeSession(report.modelPublicKeyHex);
 * const body = { model, stream: true, messages: session.encryptMessages(messages) };
 * const res = await fetch(url, { method: 'POST', headers: { ...session.headers(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
 * for await (const chunk of session.decryptSseStream(res.body!)) process.stdout.write(chunk.content);
 * session.destroy();
 */
import { AttestError } from '../errors.js';
import { decryptField, encryptField, generateKeyPair, looksEncrypted, parsePublicKey, type KeyPair } from './codec.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** Value of `X-Venice-TEE-Signing-Algo`. */
export const E2EE_SIGNING_ALGO = 'ecdsa';

/** The three request headers of Venice E2EE, as sent (the request hash binds them, lower-cased). */
export const E2EE_HEADER_NAMES = {
  clientPublicKey: 'X-Venice-TEE-Client-Pub-Key',
  modelPublicKey: 'X-Venice-TEE-Model-Pub-Key',
  signingAlgo: 'X-Venice-TEE-Signing-Algo',
} as const;

export interface ChatMessageLike {
  role: string;
  content?: unknown;
  [k: string]: unknown;
}

export interface DecryptedChunk {
  /** Decrypted text of this chunk's `delta.content` ('' for role/finish/usage chunks). */
  content: string;
  /** Decrypted `delta.reasoning_content`, when the model streams reasoning. */
  reasoning: string;
  finishReason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
}

export interface E2eeSession {
  readonly modelPublicKeyHex: string;
  readonly clientPublicKeyHex: string;
  /** The three Venice E2EE request headers. */
  headers(): Record<string, string>;
  /**
   * Encrypts every message's text content (all roles: Venice refuses plaintext turns to an
   * E2EE model), each with a fresh ephemeral key. Array content is joined text parts;
   * a non-text part (image, file) is refused rather than sent in the clear.
   */
  encryptMessages<T extends ChatMessageLike>(messages: readonly T[]): T[];
  /** Decrypts one encrypted delta. Plaintext is refused (fail closed). */
  decryptContent(content: string): string;
  /** Parses an SSE body, decrypting each delta; throws `stream_invalid` if it ends before `[DONE]`. */
  decryptSseStream(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<DecryptedChunk>;
  /** Zeroes the client secret key; the session is unusable afterwards. */
  destroy(): void;
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  return content
    .map((part: unknown) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p && p.type === 'text' && typeof p.text === 'string') return p.text;
      throw new AttestError('invalid_ciphertext', 'Only text can be sent end-to-end encrypted.', {
        details: `a content part of type ${JSON.stringify(String(p?.type)).slice(0, 40)} cannot be encrypted for Venice E2EE; remove it or pick a non-E2EE model`,
      });
    })
    .join('\n');
}

type Body = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

async function* rawChunks(body: Body): AsyncGenerator<Uint8Array> {
  if (!('getReader' in body)) {
    yield* body;
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The body's chunks; a transport failure mid-answer (fetch's `TypeError: terminated`) becomes `stream_invalid`. */
async function* chunksOf(body: Body): AsyncGenerator<Uint8Array> {
  const it = rawChunks(body);
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await it.next();
    } catch (cause) {
      throw new AttestError('stream_invalid', 'The answer stream broke off.', {
        details: cause instanceof Error ? cause.message.slice(0, 200) : 'the connection failed mid-answer',
        cause,
      });
    }
    if (next.done) return;
    yield next.value;
  }
}

/** A session encrypting to `modelPublicKeyHex`, the enclave key an attestation report vouched for. */
export function createE2eeSession(modelPublicKeyHex: string): E2eeSession {
  const modelKey = bytesToHex(parsePublicKey(modelPublicKeyHex));
  const kp: KeyPair = generateKeyPair();
  let destroyed = false;
  const live = () => {
    if (destroyed) throw new AttestError('session_closed', 'This E2EE session was closed; start a new one.');
  };
  const decryptContent = (content: string): string => {
    live();
    if (content === '') return '';
    if (!looksEncrypted(content)) {
      throw new AttestError('stream_invalid', 'Received plaintext where ciphertext was expected.', {
        details: `a delta of ${content.length} chars is not an E2EE payload; refusing it (fail closed)`,
      });
    }
    return decryptField(content, kp.secretKey);
  };
  return {
    modelPublicKeyHex: modelKey,
    clientPublicKeyHex: kp.publicKeyHex,
    headers: () => ({
      [E2EE_HEADER_NAMES.clientPublicKey]: kp.publicKeyHex,
      [E2EE_HEADER_NAMES.modelPublicKey]: modelKey,
      [E2EE_HEADER_NAMES.signingAlgo]: E2EE_SIGNING_ALGO,
    }),
    encryptMessages(messages) {
      live();
      return messages.map((m) => {
        const text = textOf(m.content);
        return text === undefined ? { ...m } : { ...m, content: encryptField(text, modelKey) };
      });
    },
    decryptContent,
    async *decryptSseStream(body) {
      live();
      const decoder = new TextDecoder();
      let buf = '';
      let done = false;
      const handle = (line: string): DecryptedChunk | undefined => {
        if (!line.startsWith('data:')) return undefined;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          done = true;
          return undefined;
        }
        let ev: {
          choices?: { delta?: { content?: string | null; reasoning_content?: string | null }; finish_reason?: string | null }[];
          usage?: DecryptedChunk['usage'] | null;
          error?: unknown;
        };
        try {
          ev = JSON.parse(data);
        } catch (cause) {
          throw new AttestError('stream_invalid', 'Malformed SSE event.', { cause });
        }
        if (ev.error !== undefined) {
          throw new AttestError('stream_invalid', 'The stream carried an error event.', { details: JSON.stringify(ev.error).slice(0, 200) });
        }
        const choice = ev.choices?.[0];
        return {
          content: decryptContent(choice?.delta?.content ?? ''),
          reasoning: decryptContent(choice?.delta?.reasoning_content ?? ''),
          finishReason: choice?.finish_reason ?? null,
          usage: ev.usage ?? undefined,
        };
      };
      for await (const bytes of chunksOf(body)) {
        buf += decoder.decode(bytes, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          const c = handle(line);
          if (c) yield c;
          if (done) return;
        }
      }
      if (buf.trim()) {
        const c = handle(buf.trim());
        if (c) yield c;
      }
      if (!done) throw new AttestError('stream_invalid', 'Stream ended before [DONE].', { details: 'the connection was cut mid-answer' });
    },
    destroy() {
      kp.secretKey.fill(0);
      destroyed = true;
    },
  };
}
