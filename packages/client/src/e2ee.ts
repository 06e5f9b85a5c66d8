/**
 * End-to-end encryption to Venice enclaves (PROTOCOL.md, "End-to-end encryption and
 * attestation"): the enclave's attestation is fetched through the zkcredits server with a fresh
 * nonce and verified here (Intel DCAP, Intel's root only, collateral from the server's mirror),
 * each request gets a fresh client key, every message's text is encrypted to the attested key,
 * and the answer's deltas are decrypted for the caller. Fails closed: what cannot be verified,
 * encrypted or decrypted is not sent or not shown, never sent in plaintext instead.
 */
import {
  assertAttested,
  createE2eeSession,
  fetchAttestation,
  serverCollateralSource,
  verifyAttestation,
  type AttestationLevel,
  type AttestationReport,
  type CollateralCache,
  type CollateralSource,
  type E2eeSession,
  type PinStore,
  type TcbStatus,
  type VerifyOptions,
} from '@zkcredits/attest';
import { isZkCreditsError } from '@zkcredits/core';
import { ClientError, briefly } from './errors.js';
import type { FetchFn } from './server-api.js';

export type E2eeOptions = {
  /** How much an attestation must establish: `binding` < `dcap` (default) < `measured` (needs `pins`). */
  level?: AttestationLevel;
  /** TCB statuses accepted besides the default (`UpToDate`, `SWHardeningNeeded`); `Revoked` never is. */
  acceptTcb?: readonly TcbStatus[];
  /** Measurement pins (trust on first use) for level `measured`. */
  pins?: PinStore;
  /** Where DCAP collateral comes from; default the server's `/v1/tee/collateral` mirror through the client's fetch. */
  collateral?: CollateralSource;
  /** A persistent cache for the default collateral source (the CLI's file; public, Intel-signed data). */
  collateralCache?: CollateralCache;
  /** How long one verified attestation serves a model before it is verified again; default 30 minutes. */
  reverifyMs?: number;
  /**
   * FOR TESTS ONLY. Replaces the verifier, e.g. with `verifyAttestationWithRoot` from
   * `@zkcredits/attest/testing` and the simulator's test root. Production code leaves it unset:
   * attestations are then verified against Intel's SGX root CA only.
   */
  verifyAttestation?: (raw: unknown, options: VerifyOptions) => Promise<AttestationReport>;
};

/** Body members an E2EE request never carries: Venice's gateway drops them and they would travel in plaintext. */
export const E2EE_FORBIDDEN_FIELDS = ['tools', 'tool_choice', 'functions', 'function_call', 'parallel_tool_calls'] as const;

const DEFAULT_REVERIFY_MS = 30 * 60_000;

type Verified = { report: AttestationReport; key: string; at: number };

/** Verified enclave keys per model, refreshed after `reverifyMs`. */
export class EnclaveKeys {
  readonly #verified = new Map<string, Verified>();
  readonly #pending = new Map<string, Promise<Verified>>();
  readonly #collateral: CollateralSource;
  readonly #verify: NonNullable<E2eeOptions['verifyAttestation']>;

  constructor(
    private readonly origin: string,
    private readonly fetchFn: FetchFn,
    private readonly options: E2eeOptions,
    private readonly now: () => number,
  ) {
    this.#collateral =
      options.collateral ??
      serverCollateralSource({ baseUrl: origin, fetch: (input, init) => fetchFn(input, init), ...(options.collateralCache ? { cache: options.collateralCache } : {}) });
    this.#verify = options.verifyAttestation ?? verifyAttestation;
  }

  /**
   * Fetches and verifies a fresh attestation of `model` (fresh nonce). Returns the report, also
   * when it failed; throws `attestation_failed` when it could not be fetched or checked at all.
   */
  async attest(model: string, signal?: AbortSignal): Promise<AttestationReport> {
    try {
      const { response, nonce } = await fetchAttestation({
        baseUrl: `${this.origin}/v1`,
        model,
        fetch: (input, init) => this.fetchFn(input, init),
        ...(signal ? { signal } : {}),
      });
      return await this.#verify(response, {
        nonce,
        model,
        level: this.options.level ?? 'dcap',
        collateral: this.#collateral,
        now: new Date(this.now()),
        ...(this.options.acceptTcb ? { acceptTcb: this.options.acceptTcb } : {}),
        ...(this.options.pins ? { pins: this.options.pins } : {}),
      });
    } catch (error) {
      throw attestationError(model, error);
    }
  }

  /** The verified enclave key of `model` (verified now, or less than `reverifyMs` ago). */
  async key(model: string, signal?: AbortSignal): Promise<string> {
    const cached = this.#verified.get(model);
    if (cached && this.now() - cached.at < (this.options.reverifyMs ?? DEFAULT_REVERIFY_MS)) return cached.key;
    let pending = this.#pending.get(model);
    if (!pending) {
      pending = this.attest(model, signal)
        .then((report) => {
          let key: string;
          try {
            key = assertAttested(report);
          } catch (error) {
            throw attestationError(model, error);
          }
          const verified = { report, key, at: this.now() };
          this.#verified.set(model, verified);
          return verified;
        })
        .finally(() => this.#pending.delete(model));
      this.#pending.set(model, pending);
    }
    return (await pending).key;
  }

  /** Forgets `model`'s verified key (after an answer that did not decrypt): the next request verifies again. */
  forget(model: string): void {
    this.#verified.delete(model);
  }
}

function attestationError(model: string, error: unknown): ClientError {
  const code = isZkCreditsError(error) ? error.code : 'error';
  const said = isZkCreditsError(error) ? `${error.shortMessage}${error.details ? ` ${error.details}` : ''}` : briefly(error);
  return new ClientError('attestation_failed', `The enclave of ${model} could not be verified, so nothing was sent and no credit was used.`, {
    details: `${code}: ${said ?? 'unknown failure'}`.slice(0, 600),
    cause: error,
  });
}

/** A request body sealed for an enclave: what to prove over and send, and the session to decrypt with. */
export type SealedRequest = { body: Record<string, unknown>; headers: Record<string, string>; session: E2eeSession };

/**
 * Throws `e2ee_unsupported` (nothing sent) unless `body` can go end-to-end encrypted: no tools or
 * function calling (Venice's gateway drops them and they would travel in plaintext), and every
 * message text. Checked before the enclave is even attested.
 */
export function assertE2eeRequest(body: Record<string, unknown>): void {
  const forbidden = E2EE_FORBIDDEN_FIELDS.filter((f) => f in body);
  if (forbidden.length > 0) {
    throw new ClientError('e2ee_unsupported', `Tools cannot be used with the end-to-end encrypted model ${String(body.model)}: they would travel unencrypted. Nothing was sent.`, {
      details: `refused fields: ${forbidden.join(', ')}`,
      param: forbidden[0],
    });
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new ClientError('invalid_request', 'An end-to-end encrypted request needs messages.', { param: 'messages' });
  }
  const text = (c: unknown) =>
    typeof c === 'string' || (Array.isArray(c) && c.length > 0 && c.every((p: { type?: unknown; text?: unknown }) => p?.type === 'text' && typeof p.text === 'string'));
  if (messages.some((m) => typeof m !== 'object' || m === null || !text((m as { content?: unknown }).content))) {
    throw new ClientError(
      'e2ee_unsupported',
      'Every message to an end-to-end encrypted model must be text: no images, files, tool calls or tool results (they cannot be encrypted). Nothing was sent.',
      { param: 'messages' },
    );
  }
}

/**
 * Encrypts every message of `body` (checked with `assertE2eeRequest`) to `enclaveKey` under a
 * fresh client key. The body streams (Venice requires it); a caller that did not ask to stream
 * gets usage in the stream, for the answer folded into one completion.
 */
export function sealRequest(body: Record<string, unknown>, enclaveKey: string): SealedRequest {
  assertE2eeRequest(body);
  const session = createE2eeSession(enclaveKey);
  let encrypted: unknown[];
  try {
    encrypted = session.encryptMessages(body.messages as { role: string; content?: unknown }[]);
  } catch (error) {
    session.destroy();
    throw new ClientError('e2ee_unsupported', 'Only text can be sent end-to-end encrypted. Nothing was sent.', {
      details: isZkCreditsError(error) ? error.details : undefined,
      param: 'messages',
      cause: error,
    });
  }
  const sealed: Record<string, unknown> = { ...body, messages: encrypted, stream: true };
  if (body.stream !== true) sealed.stream_options = { include_usage: true };
  return { body: sealed, headers: session.headers(), session };
}
