import type { Config } from '../config.js';
import { UpstreamFailure, type UpstreamFailureKind } from '../errors.js';

/**
 * Response headers passed back to the client: the content type and Venice's TEE response
 * signature. Never the rest: Venice also sends account data (e.g. the operator's balance).
 * Request headers forwarded are exactly core's `BOUND_REQUEST_HEADERS` (the E2EE headers the
 * request hash binds); nothing else from the client reaches the provider.
 */
export const FORWARDED_RESPONSE_HEADERS: readonly string[] = ['content-type', 'x-venice-tee-signature'];

export type UpstreamResponse = {
  status: number;
  headers: Headers;
  /**
   * The body chunk by chunk, as it arrives. Iteration throws `UpstreamFailure` when a chunk
   * does not arrive within the idle timeout or the whole call exceeds the total timeout.
   */
  chunks: AsyncIterable<Uint8Array>;
  /** Stops reading and closes the upstream connection. */
  cancel(): void;
};

/** A whole (small) upstream answer, read into memory. */
export type UpstreamAttestation = { status: number; headers: Headers; body: Buffer };

/** Largest attestation answer read (an Intel quote plus NVIDIA evidence is tens of KB). */
export const MAX_ATTESTATION_BYTES = 4 * 1024 * 1024;
/** Largest model list read (Venice's, with every model's spec, is a few hundred KB). */
export const MAX_MODELS_BYTES = 8 * 1024 * 1024;

export interface Upstream {
  /** `POST {baseUrl}/chat/completions` with the given JSON body. Resolves once headers arrive. */
  chatCompletions(request: { body: unknown; headers: Record<string, string>; signal?: AbortSignal }): Promise<UpstreamResponse>;
  /**
   * `GET {baseUrl}/tee/attestation?model=&nonce=` with the server's key and no client
   * header. Headers and body must arrive within the headers timeout; the body is at most
   * `MAX_ATTESTATION_BYTES`. Throws `UpstreamFailure` on timeout, network error or oversize.
   */
  attestation(request: { model: string; nonce: string; signal?: AbortSignal }): Promise<UpstreamAttestation>;
  /**
   * `GET {baseUrl}/models`: the provider's model list (Venice: each model's `model_spec.capabilities`).
   * Same limits as `attestation` (headers timeout, at most `MAX_MODELS_BYTES`).
   */
  models(request: { signal?: AbortSignal }): Promise<UpstreamAttestation>;
}

/**
 * Venice's OpenAI-compatible API (or any OpenAI-compatible endpoint). Three timeouts:
 * until the response headers, between body chunks, and for the whole call.
 */
export function createVeniceUpstream(config: Config['upstream']): Upstream {
  /** A small GET with the server's key, read whole within the headers timeout and at most `maxBytes`. */
  async function getSmall(url: string, what: string, maxBytes: number, signal: AbortSignal | undefined): Promise<UpstreamAttestation> {
    const timeout = AbortSignal.timeout(config.headersTimeoutMs);
    try {
      const response = await fetch(url, {
        headers: { accept: 'application/json', authorization: `Bearer ${config.apiKey}` },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const declared = Number(response.headers.get('content-length'));
      if (declared > maxBytes) {
        await response.body?.cancel();
        throw new UpstreamFailure('network', `${what} answer of ${declared} bytes is over ${maxBytes}`);
      }
      const parts: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of response.body ?? []) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new UpstreamFailure('network', `${what} answer is over ${maxBytes} bytes`);
        parts.push(chunk);
      }
      return { status: response.status, headers: response.headers, body: Buffer.concat(parts) };
    } catch (cause) {
      if (cause instanceof UpstreamFailure) throw cause;
      if (timeout.aborted) throw new UpstreamFailure('timeout', `no ${what} within ${config.headersTimeoutMs} ms`, { cause });
      throw new UpstreamFailure('network', `could not reach the ${what} endpoint`, { cause });
    }
  }

  return {
    attestation: ({ model, nonce, signal }) =>
      getSmall(`${config.baseUrl}/tee/attestation?${new URLSearchParams({ model, nonce })}`, 'attestation', MAX_ATTESTATION_BYTES, signal),

    models: ({ signal }) => getSmall(`${config.baseUrl}/models`, 'model list', MAX_MODELS_BYTES, signal),

    async chatCompletions({ body, headers, signal }) {
      const controller = new AbortController();
      let timeoutKind: UpstreamFailureKind | null = null;
      const abortWith = (kind: UpstreamFailureKind) => {
        timeoutKind = kind;
        controller.abort();
      };
      const total = setTimeout(() => abortWith('timeout'), config.totalTimeoutMs);
      const onClientAbort = () => controller.abort();
      signal?.addEventListener('abort', onClientAbort, { once: true });
      const cleanup = () => {
        clearTimeout(total);
        signal?.removeEventListener('abort', onClientAbort);
      };

      const headersTimer = setTimeout(() => abortWith('timeout'), config.headersTimeoutMs);
      let response: Response;
      try {
        response = await fetch(`${config.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${config.apiKey}`,
          },
          body: JSON.stringify(body),
          signal: controller.signal,
        });
      } catch (cause) {
        cleanup();
        if (timeoutKind) throw new UpstreamFailure('timeout', `no response headers within ${config.headersTimeoutMs} ms`, { cause });
        throw new UpstreamFailure('network', 'could not reach the model provider', { cause });
      } finally {
        clearTimeout(headersTimer);
      }

      const reader = response.body?.getReader();
      async function* chunks(): AsyncGenerator<Uint8Array> {
        if (!reader) {
          cleanup();
          return;
        }
        try {
          for (;;) {
            let idle: NodeJS.Timeout | undefined;
            const next = await Promise.race([
              reader.read(),
              new Promise<never>((_, reject) => {
                idle = setTimeout(() => {
                  abortWith('timeout');
                  reject(new UpstreamFailure('timeout', `no data from the model provider for ${config.idleTimeoutMs} ms`));
                }, config.idleTimeoutMs);
              }),
            ]).catch((cause: unknown) => {
              if (cause instanceof UpstreamFailure) throw cause;
              if (timeoutKind) throw new UpstreamFailure('timeout', `the model provider exceeded ${config.totalTimeoutMs} ms`, { cause });
              throw new UpstreamFailure('network', 'the model provider connection broke', { cause });
            }).finally(() => clearTimeout(idle));
            if (next.done) return;
            if (next.value.byteLength > 0) yield next.value;
          }
        } finally {
          cleanup();
          reader.cancel().catch(() => {});
        }
      }

      return {
        status: response.status,
        headers: response.headers,
        chunks: chunks(),
        cancel() {
          controller.abort();
          cleanup();
        },
      };
    },
  };
}
