/**
 * Typed errors of the API server, in core's `ZkCreditsError` family. Every error that reaches a
 * client is an `ApiError`: an HTTP status, a stable machine-readable `code` (clients match on it),
 * an OpenAI error `type`, the offending request `param` when there is one, and a message that says
 * what to do. Every other error of the family becomes one through one table (`toApiError`), by
 * code, never by message.
 */
import { ZkCreditsError, isZkCreditsError, type ZkCreditsErrorCode } from '@zkcredits/core';


/** OpenAI error `type` values (clients and SDKs branch on these). */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'insufficient_quota'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error';

type ErrorSpec = { status: number; type: ErrorType; message: string };

/**
 * The catalogue of error codes: status, type and the default message. Stable: codes are
 * never renamed or reused; new ones are added at the end of their group.
 */
export const ERRORS = {
  // request shape
  invalid_json: { status: 400, type: 'invalid_request_error', message: 'The request body is not valid JSON. Send a JSON object with Content-Type: application/json.' },
  unsupported_media_type: { status: 415, type: 'invalid_request_error', message: 'Send the request body as JSON with Content-Type: application/json.' },
  body_too_large: { status: 413, type: 'invalid_request_error', message: 'The request body is larger than this server accepts. Shorten the conversation or send fewer/lower-resolution attachments.' },
  invalid_request: { status: 400, type: 'invalid_request_error', message: 'The request is malformed.' },
  model_not_allowed: { status: 400, type: 'invalid_request_error', message: 'This server does not offer that model. List the available models with GET /v1/models.' },
  max_tokens_exceeded: { status: 400, type: 'invalid_request_error', message: 'One credit pays for a bounded number of output tokens. Lower max_tokens (or max_completion_tokens) to the per-credit limit in GET /v1/zkcredits/config.' },
  not_found: { status: 404, type: 'not_found_error', message: 'No such route. See docs/PROTOCOL.md, section "API (server)".' },
  method_not_allowed: { status: 405, type: 'invalid_request_error', message: 'This route does not support that HTTP method.' },
  invalid_nonce: { status: 400, type: 'invalid_request_error', message: 'The attestation nonce must be exactly 64 hex characters (32 random bytes), fresh for every attestation request.' },
  model_not_attestable: { status: 400, type: 'invalid_request_error', message: 'The model provider has no TEE attestation for this model. Pick a TEE / E2EE model from GET /v1/models.' },
  unsupported_parameter: { status: 400, type: 'invalid_request_error', message: 'This server does not forward that request field: a credit pays for a plain chat completion. Remove it (the fields forwarded are listed in docs/PROTOCOL.md, "Forwarded fields").' },
  input_tokens_exceeded: { status: 400, type: 'invalid_request_error', message: 'One credit pays for a bounded input. Shorten the conversation to the per-credit input limit in GET /v1/zkcredits/config (max_input_tokens_per_credit).' },
  invalid_fmspc: { status: 400, type: 'invalid_request_error', message: 'fmspc must be exactly 12 hex characters (the 6-byte FMSPC from the PCK certificate in the quote), e.g. ?fmspc=B0C06F000000&ca=platform.' },
  invalid_ca: { status: 400, type: 'invalid_request_error', message: 'ca must be platform or processor (the CA that issued the PCK certificate in the quote).' },
  collateral_not_found: { status: 404, type: 'not_found_error', message: "Intel's PCS has no TCB info for this FMSPC. Check the FMSPC read from the quote's PCK certificate." },
  invalid_spent_prefix: { status: 400, type: 'invalid_request_error', message: 'prefix must be one of spent_prefixes in GET /v2/zkcredits/config: the first lowercase hex digit of the nullifiers wanted, without 0x (nullifiers are below p = 0x3064…, so 0 to 3), e.g. ?prefix=2. Download every bucket.' },
  invalid_spent_cursor: { status: 400, type: 'invalid_request_error', message: 'after must be 0x followed by 64 lowercase hex digits: the "next" value of the previous page.' },
  // credit / proof
  missing_credit: { status: 401, type: 'authentication_error', message: 'No credit attached. Add a "zkcredits" member with your proof to the JSON body, or send a zkc1… credential as the bearer API key.' },
  invalid_proof_payload: { status: 400, type: 'invalid_request_error', message: 'The "zkcredits" member is malformed. Expected {"proof": base64, "root": 0x+64 hex, "nullifier_hash": 0x+64 hex} (v1 credit), {"v": 2, "kind": "flat", "proof": base64, "root", "nullifier", "y": 0x+64 hex, "today": UTC day number} (v2 ticket) or {"v": 2, "kind": "metered", "proof", "root", "nullifier", "y", "today", "cm_new"} (v2 metered call).' },
  invalid_field: { status: 400, type: 'invalid_request_error', message: 'A field element is not canonical. Send 0x followed by exactly 64 hex digits, below the BN254 scalar field modulus.' },
  invalid_proof: { status: 401, type: 'authentication_error', message: 'The proof does not verify for this request. Prove again over exactly the JSON body you send (without "zkcredits"), for this server\'s chain id and contract.' },
  unknown_root: { status: 403, type: 'permission_error', message: 'The proof\'s root is not a root of this deployment\'s tree. If you just bought the credit, wait for the purchase to be confirmed and retry; otherwise sync the tree from GET /v1/zkcredits/leaves and prove again.' },
  expired_root: { status: 403, type: 'permission_error', message: 'The proof\'s root is older than the last 64 roots the contract accepts. Sync the tree (GET /v1/zkcredits/leaves) and prove again against a current root.' },
  credit_spent: { status: 402, type: 'insufficient_quota', message: 'This credit has already been spent. Use another credit or buy more.' },
  credit_in_use: { status: 409, type: 'conflict_error', message: 'Another request is using this credit right now. If it fails the credit becomes spendable again; retry after the indicated delay.' },
  invalid_api_key: { status: 401, type: 'authentication_error', message: 'The bearer key is not a valid zkcredits credential (zkc1…). Check for typos; it has a checksum.' },
  credential_not_found: { status: 403, type: 'permission_error', message: 'This credential is not in the credit tree. If you just bought it, wait for the purchase to be confirmed and retry.' },
  api_key_mode_disabled: { status: 403, type: 'permission_error', message: 'This server does not build proofs for clients. Prove locally and send the proof in the "zkcredits" body member.' },
  credit_cooling_down: { status: 429, type: 'rate_limit_error', message: 'This credit was released after failed provider calls several times in a row and is cooling down. It is not spent: retry after the delay in the Retry-After header.' },
  invalid_today: { status: 400, type: 'invalid_request_error', message: 'The ticket proof\'s "today" is not the current UTC day number (floor(unix seconds / 86400)) or the day before. Check the clock and prove again; accepted_days in GET /v2/zkcredits/config says which days this server takes.' },
  ticket_reused: { status: 409, type: 'conflict_error', message: 'This ticket was already used for this exact request and answered; answers are never stored, so there is nothing to send again. Use the next ticket of the account. Never send a used ticket with another request: that publishes the account secret and the account is slashed.' },
  ticket_in_use: { status: 409, type: 'conflict_error', message: 'A request with this ticket is in progress. If it fails, the ticket can be used again for this exact request only: retry the byte-identical request after the delay in the Retry-After header, never another request with this ticket.' },
  account_revoked: { status: 403, type: 'permission_error', message: 'This account is revoked: one of its tickets was used for two different requests, which reveals the account secret, and the evidence is published on-chain (slash). Its remaining tickets are refused; open a new account.' },
  state_pending: { status: 409, type: 'conflict_error', message: 'This metered call is reserved and its signed state is not ready yet. Ask GET /v2/zkcredits/state/{nullifier} again after the delay in the Retry-After header; never send the lane\'s next call before the state arrived.' },
  policy_violation: { status: 403, type: 'permission_error', message: 'The request breaks this server\'s usage policy. It was not sent to the model; the signed state in the "zkcredits" member refunds the call and carries a penalty on the lane\'s stake (see policy_reasons in GET /v2/zkcredits/config and the public log at GET /v2/zkcredits/penalties).' },
  unknown_nullifier: { status: 404, type: 'not_found_error', message: 'This server has no metered call with that nullifier. Ask only for the call you just made, on the server you sent it to; if it never arrived, send it again.' },
  // capacity
  rate_limited: { status: 429, type: 'rate_limit_error', message: 'Too many requests from your address. Retry after the delay in the Retry-After header.' },
  verifier_busy: { status: 503, type: 'server_error', message: 'All proof verifiers are busy. Retry after the delay in the Retry-After header; your credit was not spent.' },
  prover_busy: { status: 503, type: 'server_error', message: 'All provers are busy. Retry after the delay in the Retry-After header; your credit was not spent.' },
  proof_backend_unavailable: { status: 503, type: 'server_error', message: 'The server\'s proof backend failed (this says nothing about your proof). Retry after the delay in the Retry-After header; your credit was not spent.' },
  not_ready: { status: 503, type: 'server_error', message: 'The server is starting or has lost its database or chain connection. Retry shortly; your credit was not spent.' },
  shutting_down: { status: 503, type: 'server_error', message: 'The server is shutting down. Retry (another replica will answer); your credit was not spent.' },
  metered_unavailable: { status: 503, type: 'server_error', message: 'This server does not take metered calls (it has no state key configured, or the deployment has no metered terms). Pay with a flat ticket or a credit; "metered" in GET /v2/zkcredits/config is null. Nothing was reserved.' },
  state_key_mismatch: { status: 503, type: 'server_error', message: 'This server\'s state key is not the one pinned on-chain, so it refuses metered calls rather than sign states your next proof could not use. Retry later or on another replica; nothing was reserved.' },
  // upstream
  upstream_error: { status: 502, type: 'upstream_error', message: 'The model provider failed. Your credit was not spent; retry with the same proof.' },
  upstream_timeout: { status: 504, type: 'upstream_error', message: 'The model provider did not answer in time. Your credit was not spent; retry with the same proof.' },
  upstream_busy: { status: 503, type: 'upstream_error', message: 'The model provider is rate-limiting this server. Your credit was not spent; retry after the delay in the Retry-After header.' },
  upstream_rejected: { status: 400, type: 'invalid_request_error', message: 'The model provider rejected the request. Your credit was not spent; fix the request and prove again.' },
  collateral_unavailable: { status: 502, type: 'upstream_error', message: "The DCAP collateral could not be fetched from Intel's PCS (or it was malformed or too large). Retry after the delay in the Retry-After header; never verify without it." },
  // server
  internal_error: { status: 500, type: 'server_error', message: 'Internal server error. Your credit was not spent unless an answer reached you; retry later.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export type ApiErrorOptions = {
  /** Replaces the catalogue message (still: say what to do). */
  message?: string;
  /** Extra detail appended to the message: the bad value or what was expected. Never secrets. */
  details?: string;
  /** The request parameter at fault (OpenAI `param`), e.g. `zkcredits.root`. */
  param?: string;
  /** Seconds for the Retry-After header. */
  retryAfter?: number;
  /** Overrides the catalogue status (e.g. an upstream 422 passed through as such). */
  status?: number;
  /** Top-level members of the error body beside `error` (a metered call's signed state: `zkcredits`). */
  members?: Record<string, unknown>;
  cause?: unknown;
};

/** An error with a stable API code, mapped to HTTP status + JSON by the error middleware. */
export class ApiError extends ZkCreditsError<ErrorCode> {
  override name = 'ApiError';
  readonly status: number;
  readonly type: ErrorType;
  readonly retryAfter: number | undefined;
  /** Top-level members of the body beside `error`. */
  readonly members: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: ApiErrorOptions = {}) {
    const spec: ErrorSpec = ERRORS[code];
    super(code, options.message ?? spec.message, { details: options.details, param: options.param, cause: options.cause });
    this.status = options.status ?? spec.status;
    this.type = spec.type;
    this.retryAfter = options.retryAfter;
    this.members = options.members;
  }

  /** OpenAI's error JSON shape; the message is the headline with the details in parentheses; then any extra members. */
  toJSON(): { error: { message: string; type: ErrorType; code: ErrorCode; param: string | null } } & Record<string, unknown> {
    const message = this.details ? `${this.shortMessage} (${this.details})` : this.shortMessage;
    return { ...this.members, error: { message, type: this.type, code: this.code, param: this.param ?? null } };
  }
}

/** Invalid configuration at start-up: lists every problem and how to fix it. */
export class ConfigError extends ZkCreditsError<'invalid_config'> {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super('invalid_config', `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type IndexerErrorCode = 'root_mismatch' | 'leaf_gap' | 'deployment_mismatch' | 'reorg_too_deep';

/** The chain and the local index disagree in a way that needs an operator. */
export class IndexerError extends ZkCreditsError<IndexerErrorCode> {
  override name = 'IndexerError';
  constructor(code: IndexerErrorCode, message: string) {
    super(code, message);
  }
}

/** How the provider failed: it took too long, or could not be reached / broke the connection. */
export type UpstreamFailureKind = 'timeout' | 'network';

/** The provider could not be reached or stopped answering in time. */
export class UpstreamFailure extends ZkCreditsError<'upstream_timeout' | 'upstream_network'> {
  override name = 'UpstreamFailure';
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(kind === 'timeout' ? 'upstream_timeout' : 'upstream_network', message, options);
  }
}

/** Every code of the family that is not an API code: core's and the server's own. */
type FamilyCode = ZkCreditsErrorCode | ConfigError['code'] | IndexerErrorCode | UpstreamFailure['code'];

type Mapping = {
  code: ErrorCode;
  /** Keep the error's `param` (under the caller's prefix, e.g. `zkcredits.root`). */
  param?: true;
  /** Answer with Retry-After (capacity and backend failures: nothing was spent, retry). */
  retry?: true;
  /** Never show the error's own words to the client (internal failures). */
  quiet?: true;
};

/**
 * The one table from the family's codes to API errors. Exhaustive: a new code anywhere in the
 * family does not compile until it is mapped here.
 */
const TO_API: Record<FamilyCode, Mapping> = {
  // core: client input
  invalid_field: { code: 'invalid_field', param: true },
  invalid_request: { code: 'invalid_request', param: true },
  // core raises `invalid_proof` for a payload it cannot decode; a proof that does not verify is `false`.
  invalid_proof: { code: 'invalid_proof_payload', param: true },
  invalid_credential: { code: 'invalid_api_key' },
  leaf_not_found: { code: 'credential_not_found' },
  // core: the proof backend failed, not the client's proof
  backend_failed: { code: 'proof_backend_unavailable', retry: true, quiet: true },
  crs_unavailable: { code: 'proof_backend_unavailable', retry: true, quiet: true },
  hasher_not_ready: { code: 'not_ready', retry: true, quiet: true },
  // core: the server's own state or a bug (a witness from its tree that does not satisfy the circuit)
  proof_failed: { code: 'internal_error', quiet: true },
  vk_mismatch: { code: 'internal_error', quiet: true },
  tree_full: { code: 'internal_error', quiet: true },
  invalid_leaf_index: { code: 'internal_error', quiet: true },
  contract_error: { code: 'internal_error', quiet: true },
  invalid_manifest: { code: 'internal_error', quiet: true },
  // core, client side only (building a metered witness): never raised by the server's own code paths
  state_signature_invalid: { code: 'internal_error', quiet: true },
  insufficient_balance: { code: 'internal_error', quiet: true },
  lane_frozen: { code: 'internal_error', quiet: true },
  // server
  invalid_config: { code: 'internal_error', quiet: true },
  root_mismatch: { code: 'not_ready', retry: true, quiet: true },
  leaf_gap: { code: 'not_ready', retry: true, quiet: true },
  deployment_mismatch: { code: 'not_ready', retry: true, quiet: true },
  reorg_too_deep: { code: 'not_ready', retry: true, quiet: true },
  upstream_timeout: { code: 'upstream_timeout', quiet: true },
  upstream_network: { code: 'upstream_error', quiet: true },
};

export type ToApiErrorOptions = {
  /** Where the input at fault sits in the request: `zkcredits` makes core's `root` `zkcredits.root`. */
  within?: string;
  /** Seconds for Retry-After on errors that ask the client to retry. */
  retryAfterSeconds?: number;
};

/**
 * Any error as the `ApiError` a client gets: an `ApiError` as is; one of the family through the
 * table, by its code; the body parser's and the database driver's by their codes; anything else
 * `internal_error` (its words never reach the client).
 */
export function toApiError(err: unknown, options: ToApiErrorOptions = {}): ApiError {
  if (err instanceof ApiError) return err;
  if (isZkCreditsError(err)) {
    if (!Object.hasOwn(TO_API, err.code)) return new ApiError('internal_error', { cause: err });
    const mapping = TO_API[err.code as FamilyCode];
    const param = mapping.param ? (options.within && err.param ? `${options.within}.${err.param}` : (err.param ?? options.within)) : undefined;
    return new ApiError(mapping.code, {
      param,
      details: mapping.quiet ? undefined : [err.shortMessage, err.details].filter(Boolean).join(': '),
      retryAfter: mapping.retry ? options.retryAfterSeconds : undefined,
      cause: err,
    });
  }
  switch ((err as { type?: unknown } | null | undefined)?.type) {
    // express.json (body-parser)
    case 'entity.too.large':
      return new ApiError('body_too_large', { cause: err });
    case 'entity.parse.failed':
      return new ApiError('invalid_json', { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('unsupported_media_type', { cause: err });
    case 'request.aborted':
      return new ApiError('invalid_request', { message: 'The request body was cut off.', cause: err });
  }
  if (isDatabaseUnavailable(err)) return new ApiError('not_ready', { cause: err });
  return new ApiError('internal_error', { cause: err });
}

/** Connection-level database failures: the client should retry (nothing was spent). */
function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return false;
  // Node socket errors, PostgreSQL class 08 (connection) / 57P (shutdown), SQLite busy/locked.
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|08\d{3}|57P0[1-3]|SQLITE_BUSY|SQLITE_LOCKED)$/.test(code);
}
