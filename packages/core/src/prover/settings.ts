/** UltraHonk settings of zkcredits proofs: zero-knowledge, Poseidon2 transcript (bb.js default). */
export const PROOF_SETTINGS = {
  ipaAccumulation: false,
  oracleHashType: 'poseidon2',
  disableZk: false,
  optimizedSolidityVerifier: false,
} as const;

/** Public inputs, in circuit order. */
export type PublicInputs = { root: bigint; nullifierHash: bigint; requestHash: bigint };

/** A proof as produced and verified: the raw UltraHonk proof bytes plus its public inputs. */
export type SpendProof = { proof: Uint8Array; publicInputs: PublicInputs };

/**
 * Size of every credit proof: 458 field elements (UltraHonk with ZK over the padded circuit).
 * Anything else is refused before reaching bb; a test pins it to real proofs.
 */
export const PROOF_BYTES = 458 * 32;
