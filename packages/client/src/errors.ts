/**
 * Errors of the client, in core's `ZkCreditsError` family: a stable `code`, a short message that
 * says what happened and whether a credit was used, `details` for people (never prompts, answers
 * or credentials) and the `cause`. Match them with `isZkCreditsError(e, code)`, never `instanceof`.
 */
import { ZkCreditsError } from '@zkcredits/core';
import type { ZkCreditsErrorOptions } from '@zkcredits/core/errors';

/** Machine-readable codes of `@zkcredits/client`. Stable: never renamed or reused. */
export type ClientErrorCode =
  /** The server could not be reached, or answered something this client does not understand. */
  | 'server_unavailable'
  /** The server's verification key is not the one pinned in `@zkcredits/core`. */
  | 'vk_mismatch'
  /** The server serves another chain than the one the client expects. */
  | 'wrong_chain'
  /** The server serves another CreditPool than the one the client expects. */
  | 'wrong_contract'
  /** The server's credit tree does not match the chain (or its own root). */
  | 'tree_mismatch'
  /** The chain (RPC) could not be read. */
  | 'chain_unavailable'
  /** No unspent credit is left for this deployment. */
  | 'no_credits'
  /** Unspent credits exist, but the server has not indexed any of them yet. */
  | 'credits_not_synced'
  /** Every usable credit is held by another request of this client right now. */
  | 'credits_busy'
  /** The server answered an error (see `serverCode`, `status`, `retryAfter`). */
  | 'server_rejected'
  /** The server kept refusing proofs (roots, credits in use) beyond the retry bound. */
  | 'retries_exhausted'
  /** This device could not make the proof. */
  | 'prover_failed'
  /** The request cannot be sent end-to-end encrypted (tools, non-text parts, unknown E2EE support). */
  | 'e2ee_unsupported'
  /** The server does not know yet whether the model takes end-to-end encrypted requests: nothing was sent. */
  | 'e2ee_unknown'
  /** The enclave's attestation could not be fetched or did not verify: nothing was sent. */
  | 'attestation_failed'
  /** The encrypted answer could not be decrypted (or arrived in plaintext): it was not shown. */
  | 'e2ee_failed'
  /** `zk.fetch` was asked for a route it does not pay or pass through. */
  | 'route_not_supported'
  /** The request is not one this client can pay (body not JSON, other host, …). */
  | 'invalid_request'
  /** A purchase could not be made (wallet, chain, contract); says whether anything was paid. */
  | 'purchase_failed'
  /** The credit store failed or refused an update. */
  | 'store_failed'
  /** The caller aborted. */
  | 'aborted'
  /**
   * v2: the server already answered this ticket for this same request (a retry after the answer
   * was lost). Answers are not stored, so it is gone; the ticket is spent.
   */
  | 'ticket_reused'
  /** v2: another request (an earlier attempt of this same one) holds the ticket right now; retry the same request after `retryAfter`. */
  | 'ticket_in_use'
  /** v2: the server refuses every ticket of this account (a ticket was used twice); the account is marked revoked. */
  | 'account_revoked'
  /** v2: the server does not accept this device's day (`today`): the clock is off by more than a day. The ticket is kept for this request. */
  | 'invalid_today'
  /**
   * v2 metered: the server's signed state for a call was refused (not this call's, a refund above
   * C_max, or a signature not under the deployment's on-chain state key). The lane keeps waiting
   * for a valid state; the answer is not passed on.
   */
  | 'state_refused';

export type ClientErrorOptions = ZkCreditsErrorOptions & {
  /** The server's error code (`credit_spent`, `max_tokens_exceeded`, …) when the server answered one. */
  serverCode?: string;
  /** HTTP status of the server's answer, when there was one. */
  status?: number;
  /** Seconds the server asked to wait (`Retry-After`). */
  retryAfter?: number;
  /** The OpenAI error `type` of the server's answer. */
  serverType?: string;
};

/** An error of `@zkcredits/client`. */
export class ClientError extends ZkCreditsError<ClientErrorCode> {
  override name = 'ClientError';
  readonly serverCode: string | undefined;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;
  readonly serverType: string | undefined;

  constructor(code: ClientErrorCode, shortMessage: string, options: ClientErrorOptions = {}) {
    super(code, shortMessage, options);
    this.serverCode = options.serverCode;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
    this.serverType = options.serverType;
  }
}

/** The first line of an error's message, capped: for `details`, never the error's payload. */
export function briefly(error: unknown, max = 200): string | undefined {
  if (error instanceof Error) return error.message.split('\n')[0]!.slice(0, max);
  return undefined;
}
