import { BarretenbergSync } from '@aztec/bb.js';
import { ZkCreditsError } from './errors.js';
import { bytesToBigInt, fieldToBytes } from './field.js';

let instance: BarretenbergSync | undefined;
let loading: Promise<BarretenbergSync> | undefined;

/**
 * Loads bb.js once (native shared memory in Node when available, WASM otherwise).
 * Must resolve before any hash function is called.
 */
export async function initPoseidon2(): Promise<void> {
  if (instance) return;
  loading ??= BarretenbergSync.new().then((bb) => (instance = bb));
  await loading;
}

function bb(): BarretenbergSync {
  if (!instance) {
    throw new ZkCreditsError('hasher_not_ready', 'Poseidon2 is not initialised', {
      details: 'await initPoseidon2() once before hashing',
    });
  }
  return instance;
}

/** Poseidon2 sponge hash over BN254, exactly as bb.js `poseidon2Hash` (see PROTOCOL.md). */
export function poseidon2Hash(inputs: readonly bigint[]): bigint {
  const { hash } = bb().poseidon2Hash({ inputs: inputs.map((x) => fieldToBytes(x)) });
  return bytesToBigInt(hash);
}

/** The raw Poseidon2 permutation of a 4-element state (test vectors, cross-checks). */
export function poseidon2Permutation(state: readonly [bigint, bigint, bigint, bigint]): bigint[] {
  const { outputs } = bb().poseidon2Permutation({ inputs: state.map((x) => fieldToBytes(x)) });
  return outputs.map(bytesToBigInt);
}
