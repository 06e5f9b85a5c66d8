import type { ProofPayload } from '@zkcredits/core';
import type { E2eeWorkerApi } from '../e2ee/types';

export type Hex = `0x${string}`;

export type ProverStage = 'loading' | 'syncing' | 'witness' | 'proving' | 'done';
export type ProgressEvent = { stage: ProverStage; elapsedMs: number };

export type SecretPair = { nullifier: Hex; secret: Hex };

export type ProveRequest = SecretPair & {
  commitment: Hex;
  chainId: number;
  contract: Hex;
  method: 'POST';
  path: string;
  /** Request headers the request hash binds (the three Venice E2EE headers; others are ignored). */
  headers?: Record<string, string>;
  /** The JSON body without the `zkcredits` member. */
  body: unknown;
};

export type ProveResult = {
  payload: ProofPayload;
  requestHash: Hex;
  leafIndex: number;
  /** Time spent loading circuit + CRS + backend (0 when already warm). */
  loadMs: number;
  witnessMs: number;
  proveMs: number;
};

export type TreeState = { size: number; root: Hex };

/**
 * The API of the prover worker (all heavy work: Poseidon2, the tree mirror, proving; and
 * end-to-end encryption: attestation verification, the E2EE sessions and their keys).
 */
export interface ProverApi extends E2eeWorkerApi {
  commitments(pairs: SecretPair[]): Promise<{ commitment: Hex; nullifierHash: Hex }[]>;
  appendLeaves(startIndex: number, leaves: Hex[]): Promise<TreeState>;
  tree(): Promise<TreeState>;
  /** Drops the tree mirror (after a tree that did not check out); the next sync starts from leaf 0. */
  resetTree(): Promise<void>;
  indexOf(commitment: Hex): Promise<number>;
  warmup(onProgress?: (e: ProgressEvent) => void): Promise<{ loadMs: number; threads: number }>;
  prove(request: ProveRequest, onProgress?: (e: ProgressEvent) => void): Promise<ProveResult>;
}
