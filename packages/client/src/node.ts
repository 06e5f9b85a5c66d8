/**
 * `@zkcredits/client/node`: the Node defaults. `nodeProver()` makes the prover on first use with
 * `createNodeProver` (native `bb` when present, WASM otherwise) and the CRS from a local folder,
 * checked against its pinned SHA-256 (never downloaded by bb.js).
 */
import { createNodeProver, createNodeTicketProver, requireCrs } from '@zkcredits/core/node';
import type { TicketProverOption } from './client.js';
import type { SpendProver } from './paid-chat.js';

export type NodeProverOptions = {
  /** The CRS folder (`bn254_g1.dat`, `bn254_g2.dat`); default `$ZKCREDITS_CRS_PATH`, `$CRS_PATH`, or `../shared/crs` beside the repository. */
  crsPath?: string;
  /** `auto` (default): native `bb` when its binary is present, WASM otherwise. */
  backend?: 'native' | 'wasm' | 'auto';
  threads?: number;
};

/**
 * A prover factory for `ZkCreditsClient`'s `prover` option: the client makes it on first use
 * and destroys it in `close()`. Throws `crs_unavailable` (when called) if the CRS is missing or wrong.
 *
 * @example
 * const zk = new ZkCreditsClient({ server, store, prover: nodeProver({ crsPath }), chain: { rpcUrl }, expect });
 */
export function nodeProver(options: NodeProverOptions = {}): () => Promise<SpendProver> {
  return async () => {
    const crsPath = requireCrs(options.crsPath);
    return createNodeProver({ crsPath, backend: options.backend ?? 'auto', ...(options.threads ? { threads: options.threads } : {}) });
  };
}

/**
 * A ticket prover factory for `ZkCreditsClient`'s `ticketProver` option (protocol v2 flat
 * accounts), like `nodeProver`.
 *
 * @example
 * const zk = new ZkCreditsClient({ server, store, prover: nodeProver(), ticketProver: nodeTicketProver(), chain: { rpcUrl }, expect });
 */
export function nodeTicketProver(options: NodeProverOptions = {}): Extract<TicketProverOption, () => unknown> {
  return async () => {
    const crsPath = requireCrs(options.crsPath);
    return createNodeTicketProver({ crsPath, backend: options.backend ?? 'auto', ...(options.threads ? { threads: options.threads } : {}) });
  };
}

// The CRS for CLI users: a checked local folder, or a checked download through the network layer.
export { ensureCrs, DEFAULT_CRS_URL, CRS_FILES, type EnsureCrsOptions } from './crs.js';
