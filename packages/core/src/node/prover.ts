import { findBbBinary } from '@aztec/bb.js';
import { CreditProver, CREDIT_CRS_POINTS, type CreateProverParameters } from '../prover/prover.js';
import { TicketProver, TICKET_CRS_POINTS } from '../prover/ticket-prover.js';
import { MeteredProver, METERED_CRS_POINTS } from '../prover/metered-prover.js';
import { createBackend, type BackendKind } from '../prover/backend.js';
import { ZkCreditsError } from '../errors.js';
import { loadCrs, resolveCrsPath } from './crs.js';

export type CreateNodeProverParameters = {
  /** `auto` (default): native `bb` when its binary is present, WASM otherwise. */
  backend?: BackendKind | 'auto';
  /** CRS folder; defaults per `resolveCrsPath`. */
  crsPath?: string;
  threads?: number;
};

/** Backend parameters for Node: native bb when available, the CRS (`points` of it) from a local folder. */
function nodeBackend(params: CreateNodeProverParameters, points: number): CreateProverParameters {
  const crsPath = resolveCrsPath(params.crsPath);
  const bbPath = findBbBinary() ?? undefined;
  const kind: BackendKind = params.backend && params.backend !== 'auto' ? params.backend : bbPath ? 'native' : 'wasm';
  if (kind === 'native') {
    if (!bbPath) throw new ZkCreditsError('proof_failed', 'native bb binary not found', { details: 'use backend "wasm"' });
    // The native binary reads its CRS from $CRS_PATH (it has no other offline source).
    if (crsPath) process.env.CRS_PATH = crsPath;
    return { kind, bbPath, threads: params.threads };
  }
  return { kind, threads: params.threads, crs: crsPath ? loadCrs(crsPath, points) : undefined };
}

/** A `CreditProver` for Node: native bb when available, the CRS from a local folder. */
export async function createNodeProver(params: CreateNodeProverParameters = {}): Promise<CreditProver> {
  return CreditProver.create(nodeBackend(params, CREDIT_CRS_POINTS));
}

/** A `TicketProver` (protocol v2 flat tickets) for Node, like `createNodeProver`. */
export async function createNodeTicketProver(params: CreateNodeProverParameters = {}): Promise<TicketProver> {
  return TicketProver.create(nodeBackend(params, TICKET_CRS_POINTS));
}

/** A `MeteredProver` (protocol v2 metered calls) for Node, like `createNodeProver`. */
export async function createNodeMeteredProver(params: CreateNodeProverParameters = {}): Promise<MeteredProver> {
  return MeteredProver.create(nodeBackend(params, METERED_CRS_POINTS));
}

/** A credit, a ticket and a metered prover sharing one bb backend (the server's verifier slots); `destroy` ends all. */
export type NodeProvers = { kind: BackendKind; credit: CreditProver; ticket: TicketProver; metered: MeteredProver; destroy(): Promise<void> };

/** One Node bb backend (as `createNodeProver` picks it) serving the credit, ticket and metered circuits. */
export async function createNodeProvers(params: CreateNodeProverParameters = {}): Promise<NodeProvers> {
  const points = Math.max(CREDIT_CRS_POINTS, TICKET_CRS_POINTS, METERED_CRS_POINTS);
  const backendParams = nodeBackend(params, points);
  const backend = await createBackend({ ...backendParams, numPoints: points });
  try {
    const credit = await CreditProver.create({ ...backendParams, backend });
    const ticket = await TicketProver.create({ ...backendParams, backend });
    const metered = await MeteredProver.create({ ...backendParams, backend });
    return { kind: backendParams.kind, credit, ticket, metered, destroy: () => backend.destroy() };
  } catch (error) {
    await backend.destroy();
    throw error;
  }
}
