import { Barretenberg, BackendType } from '@aztec/bb.js';
import { ZkCreditsError } from '../errors.js';

/** CRS bytes in bb.js layout: G1 points of 64 bytes (x ‖ y big-endian), the G2 point of 128 bytes. */
export type CrsBytes = { g1: Uint8Array; g2: Uint8Array };

export type BackendKind = 'native' | 'wasm';

export type CreateBackendParameters = {
  kind: BackendKind;
  /** WASM: CRS bytes holding at least `numPoints` points. Omit to let bb.js fetch the CRS itself. */
  crs?: CrsBytes;
  /** Points to load (circuit size + 1). */
  numPoints: number;
  /** WASM: worker threads (needs cross-origin isolation in browsers). */
  threads?: number;
  /** Native: path of the `bb` binary (bb.js finds its own by default). */
  bbPath?: string;
};

/**
 * Starts a Barretenberg backend with the CRS loaded. Native runs the `bb` binary over a
 * Unix socket (its CRS comes from the `CRS_PATH` environment variable, see `node/`);
 * WASM loads exactly the points the circuit needs from `crs`.
 */
export async function createBackend(params: CreateBackendParameters): Promise<Barretenberg> {
  if (params.kind === 'native') {
    return Barretenberg.new({ backend: BackendType.NativeUnixSocket, bbPath: params.bbPath, threads: params.threads });
  }
  const backend = typeof window === 'undefined' ? BackendType.Wasm : BackendType.WasmWorker;
  if (!params.crs) {
    return Barretenberg.new({ backend, threads: params.threads, srsSize: params.numPoints });
  }
  const { g1, g2 } = params.crs;
  if (g1.length < params.numPoints * 64 || g2.length !== 128) {
    throw new ZkCreditsError('crs_unavailable', 'CRS is too small for the circuit', {
      details: `need ${params.numPoints} G1 points (${params.numPoints * 64} bytes) and a 128-byte G2 point; got ${g1.length} and ${g2.length} bytes`,
    });
  }
  const api = await Barretenberg.new({ backend, threads: params.threads, skipSrsInit: true });
  await api.srsInitSrs({ pointsBuf: g1.subarray(0, params.numPoints * 64), numPoints: params.numPoints, g2Point: g2 });
  return api;
}
