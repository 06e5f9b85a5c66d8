import {
  PROOF_BODY_FIELD,
  ROOT_HISTORY_SIZE,
  buildSpendWitness,
  credentialCommitment,
  credentialNullifierHash,
  decodeCredential,
  decodeProofPayload,
} from '@zkcredits/core';
import type { ChainView } from './chain/indexer.js';
import { ApiError, toApiError } from './errors.js';
import type { Metrics } from './metrics.js';
import type { Prover, SpendWitness, Verifier } from './proof/types.js';
import type { Store } from './store/index.js';

/**
 * A credit that passed every check and may now be reserved. API-key mode proves only once the
 * credit is reserved (`proveAfterReserve`), so concurrent requests for one credential never make
 * the server prove more than once at a time.
 */
export type AuthorizedCredit = { nullifierHash: bigint; mode: 'proof' | 'api_key'; proveAfterReserve?: () => Promise<void> };

export type CreditDeps = {
  store: Store;
  chain: ChainView;
  verifier: Verifier;
  prover: Prover | undefined;
  apiKeyMode: boolean;
  retryAfterSeconds: number;
  metrics: Metrics;
  now: () => number;
};

/** The bearer token when it looks like a zkcredits credential (`zkc1…`), else undefined. */
export function bearerCredential(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m || !/^zkc1/i.test(m[1]!)) return undefined;
  return m[1];
}

async function refuseSpentOrInUse(deps: CreditDeps, nullifierHash: bigint): Promise<void> {
  const state = await deps.store.nullifierState(nullifierHash, deps.now());
  if (state !== null) throw await unavailableCredit(deps, nullifierHash, state);
}

/** The error for a credit that cannot be reserved now: spent, held by another request, or cooling down. */
export async function unavailableCredit(deps: Pick<CreditDeps, 'store' | 'now' | 'retryAfterSeconds'>, nullifierHash: bigint, state: 'reserved' | 'cooling' | 'spent'): Promise<ApiError> {
  if (state === 'spent') return new ApiError('credit_spent');
  if (state === 'cooling') {
    const now = deps.now();
    const until = await deps.store.coolingUntil(nullifierHash, now);
    return new ApiError('credit_cooling_down', { retryAfter: Math.max(1, Math.ceil(((until ?? now) - now) / 1000)) });
  }
  return new ApiError('credit_in_use', { retryAfter: deps.retryAfterSeconds });
}

/**
 * Verifies a spend proof. A proof that does not verify is `invalid_proof`; a verifier backend that
 * failed (its bb process died) throws core's `backend_failed`, which the error table answers with
 * `proof_backend_unavailable`: the client's proof may be fine and nothing was spent.
 */
async function verify(deps: CreditDeps, proof: Parameters<Verifier['verify']>[0]): Promise<boolean> {
  const end = deps.metrics.verifySeconds.startTimer();
  try {
    return await deps.verifier.verify(proof);
  } finally {
    end();
  }
}

/**
 * Proof mode: the client proved membership itself and sent `{proof, root, nullifier_hash}`.
 * Order (cheap first): shape → root window → nullifier state → proof verification against
 * the request hash the server computed from what it received.
 */
export async function authorizeProof(deps: CreditDeps, payload: unknown, requestHash: bigint): Promise<AuthorizedCredit> {
  let decoded: ReturnType<typeof decodeProofPayload>;
  try {
    decoded = decodeProofPayload(payload);
  } catch (err) {
    // Core names the payload member at fault (`root`, `nullifier_hash`); the table maps the code.
    throw toApiError(err, { within: PROOF_BODY_FIELD });
  }
  const { proof, root, nullifierHash } = decoded;

  const rs = await deps.store.rootStatus(root, ROOT_HISTORY_SIZE);
  if (rs.status === 'unknown') throw new ApiError('unknown_root', { param: 'zkcredits.root' });
  if (rs.status === 'expired') throw new ApiError('expired_root', { param: 'zkcredits.root' });

  await refuseSpentOrInUse(deps, nullifierHash);

  if (!(await verify(deps, { proof, publicInputs: { root, nullifierHash, requestHash } }))) {
    throw new ApiError('invalid_proof', { param: 'zkcredits.proof' });
  }
  return { nullifierHash, mode: 'proof' };
}

/**
 * API-key mode: the client sent its credential; the server finds its leaf, proves for it and
 * verifies that proof with the same verifier as proof mode, so a credit is only ever spent against
 * a proof that verifies under the pinned key for this request, whichever mode paid. A server-built
 * proof that does not verify is the prover's fault, never the client's: `proof_backend_unavailable`.
 * The credential is revealed to the server (documented): whoever runs the server could spend it.
 */
export async function authorizeApiKey(deps: CreditDeps, key: string, requestHash: bigint): Promise<AuthorizedCredit> {
  if (!deps.apiKeyMode || !deps.prover) throw new ApiError('api_key_mode_disabled');
  let credential: ReturnType<typeof decodeCredential>;
  try {
    credential = decodeCredential(key);
  } catch (err) {
    throw toApiError(err);
  }
  const tree = deps.chain.tree;
  if (tree.indexOf(credentialCommitment(credential)) < 0) throw new ApiError('credential_not_found');
  const nullifierHash = credentialNullifierHash(credential);
  await refuseSpentOrInUse(deps, nullifierHash);
  const prover = deps.prover;

  const proveAfterReserve = async () => {
    // Path and root are taken from one synchronous snapshot of the tree.
    const witness: SpendWitness = buildSpendWitness(credential, tree, requestHash);
    const rs = await deps.store.rootStatus(witness.root, ROOT_HISTORY_SIZE);
    if (rs.status === 'unknown' || rs.status === 'expired') {
      throw new ApiError('not_ready', { details: 'the local tree is out of step with the database; retry' });
    }
    const end = deps.metrics.proveSeconds.startTimer();
    let built: Awaited<ReturnType<Prover['prove']>>;
    try {
      built = await prover.prove(witness);
    } finally {
      end();
    }
    // Against the request's own public inputs, not the ones the prover reports.
    if (!(await verify(deps, { proof: built.proof, publicInputs: { root: witness.root, nullifierHash, requestHash } }))) {
      throw new ApiError('proof_backend_unavailable', { retryAfter: deps.retryAfterSeconds, details: 'the proof the server built does not verify' });
    }
  };
  return { nullifierHash, mode: 'api_key', proveAfterReserve };
}
