/**
 * `@zkcredits/client/node`: the Node defaults. `nodeProver()` makes the prover on first use with
 * `createNodeProver` (native `bb` when present, WASM otherwise) and the CRS from a local folder,
 * checked against its pinned SHA-256 (never downloaded by bb.js).
 */
import { createNodeMeteredProver, createNodeProver, createNodeProvers, createNodeTicketProver, requireCrs, type NodeProvers } from '@zkcredits/core/node';
import type { MeteredProverOption, TicketProverOption } from './client.js';
import type { SpendProver } from './paid-chat.js';

type TicketProverFactory = Extract<TicketProverOption, () => unknown>;
type MeteredProverFactory = Extract<MeteredProverOption, () => unknown>;

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
export function nodeTicketProver(options: NodeProverOptions = {}): TicketProverFactory {
  return async () => {
    const crsPath = requireCrs(options.crsPath);
    return createNodeTicketProver({ crsPath, backend: options.backend ?? 'auto', ...(options.threads ? { threads: options.threads } : {}) });
  };
}

/**
 * A metered prover factory for `ZkCreditsClient`'s `meteredProver` option (protocol v2 metered
 * accounts), like `nodeProver`.
 */
export function nodeMeteredProver(options: NodeProverOptions = {}): MeteredProverFactory {
  return async () => {
    const crsPath = requireCrs(options.crsPath);
    return createNodeMeteredProver({ crsPath, backend: options.backend ?? 'auto', ...(options.threads ? { threads: options.threads } : {}) });
  };
}

/**
 * The three factories on ONE bb backend (one native process or WASM instance instead of three),
 * for a client that pays with metered accounts, account tickets and credits. The backend starts
 * on the first use of any and stops once the client has destroyed all it made.
 *
 * @example
 * const { prover, ticketProver, meteredProver } = nodeProvers({ crsPath });
 * const zk = new ZkCreditsClient({ server, store, prover, ticketProver, meteredProver, chain: { rpcUrl }, expect });
 */
export function nodeProvers(options: NodeProverOptions = {}): { prover: () => Promise<SpendProver>; ticketProver: TicketProverFactory; meteredProver: MeteredProverFactory } {
  let shared: Promise<NodeProvers> | undefined;
  let users = 0;
  const acquire = async () => {
    shared ??= createNodeProvers({ crsPath: requireCrs(options.crsPath), backend: options.backend ?? 'auto', ...(options.threads ? { threads: options.threads } : {}) }).catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    const provers = await shared;
    users++;
    let released = false;
    const destroy = async () => {
      if (released) return;
      released = true;
      if (--users === 0 && shared) {
        shared = undefined;
        await provers.destroy();
      }
    };
    return { provers, destroy };
  };
  return {
    prover: async () => {
      const { provers, destroy } = await acquire();
      return { prove: (witness) => provers.credit.prove(witness), destroy };
    },
    ticketProver: async () => {
      const { provers, destroy } = await acquire();
      return { prove: (witness) => provers.ticket.prove(witness), destroy };
    },
    meteredProver: async () => {
      const { provers, destroy } = await acquire();
      return { prove: (witness) => provers.metered.prove(witness), destroy };
    },
  };
}

// The CRS for CLI users: a checked local folder, or a checked download through the network layer.
export { ensureCrs, DEFAULT_CRS_URL, CRS_FILES, type EnsureCrsOptions } from './crs.js';
