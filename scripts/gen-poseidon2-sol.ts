// Generates contracts/src/generated/Poseidon2.sol (Poseidon2 over BN254, t = 4, as in bb.js) and
// contracts/src/generated/ZeroHashes.sol (empty-subtree roots Z_0..Z_DEPTH under TAG_NODE) from
// protocol/poseidon2-bn254.json and protocol/constants.json. Deterministic; `--check` fails on drift.
//
// The Solidity permutation is straight-line Yul with every round constant inlined. Values stay on the
// stack; cheap `add` replaces `addmod` wherever the bound analysis below keeps sums under 2^256
// (p < 2^254, so a sum of four reduced values cannot overflow; `mulmod` accepts unreduced operands).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** protocol/poseidon2-bn254.json: parameters and round constants (hex strings). */
interface Poseidon2Params {
  t: number;
  d: number;
  roundsFull: number;
  roundsPartial: number;
  internalDiagMinusOne: string[];
  /** One 4-element row per round. */
  fullRoundConstantsFirst: string[][];
  partialRoundConstants: string[];
  fullRoundConstantsLast: string[][];
}
/** The part of protocol/constants.json used here. */
interface ProtocolConstants {
  fieldModulus: string;
  treeDepth: number;
  domainTags: { node: string };
}
/** Four field elements: the Poseidon2 state. */
type State = [bigint, bigint, bigint, bigint];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const P2 = JSON.parse(readFileSync(join(root, 'protocol/poseidon2-bn254.json'), 'utf8')) as Poseidon2Params;
const C = JSON.parse(readFileSync(join(root, 'protocol/constants.json'), 'utf8')) as ProtocolConstants;
const p = BigInt(C.fieldModulus);
const hex = (v: bigint) => '0x' + BigInt(v).toString(16).padStart(64, '0');

if (P2.t !== 4 || P2.d !== 5 || P2.roundsFull !== 8 || P2.roundsPartial !== 56) {
  throw new Error('gen-poseidon2-sol: unexpected Poseidon2 parameters');
}
if (P2.fullRoundConstantsFirst.length !== 4 || P2.fullRoundConstantsLast.length !== 4 ||
    P2.partialRoundConstants.length !== 56) {
  throw new Error('gen-poseidon2-sol: unexpected number of round constants');
}
/** Four hex strings as a state (the width t = 4 is checked above; a row of another width is an error). */
const toState = (row: string[]): State => {
  const [a, b, c, d, ...rest] = row.map(BigInt);
  if (a === undefined || b === undefined || c === undefined || d === undefined || rest.length) {
    throw new Error('gen-poseidon2-sol: expected 4 values per row');
  }
  return [a, b, c, d];
};
const fullFirst = P2.fullRoundConstantsFirst.map(toState);
const fullLast = P2.fullRoundConstantsLast.map(toState);
const partial = P2.partialRoundConstants.map(BigInt);
const D = toState(P2.internalDiagMinusOne);

// ---------- JS permutation (used only to precompute the zero hashes; vectors check it against bb.js) ----------
const mod = (x: bigint) => ((x % p) + p) % p;
const s5 = (x: bigint) => { const x2 = (x * x) % p; return (((x2 * x2) % p) * x) % p; };
const ext = (x: State): State => {
  const t0 = mod(x[0] + x[1]), t1 = mod(x[2] + x[3]);
  const t2 = mod(2n * x[1] + t1), t3 = mod(2n * x[3] + t0);
  const t4 = mod(4n * t1 + t3), t5 = mod(4n * t0 + t2);
  return [mod(t3 + t5), t5, mod(t2 + t4), t4];
};
const internal = (x: State): State => {
  const s = mod(x[0] + x[1] + x[2] + x[3]);
  return [mod(x[0] * D[0] + s), mod(x[1] * D[1] + s), mod(x[2] * D[2] + s), mod(x[3] * D[3] + s)];
};
/** S-box on every element after adding the round constants. */
const full = (x: State, rc: State): State =>
  [s5(mod(x[0] + rc[0])), s5(mod(x[1] + rc[1])), s5(mod(x[2] + rc[2])), s5(mod(x[3] + rc[3]))];
function permute(state: State): State {
  let x = ext([mod(state[0]), mod(state[1]), mod(state[2]), mod(state[3])]);
  for (const rc of fullFirst) x = ext(full(x, rc));
  for (const rc of partial) { x[0] = s5(mod(x[0] + rc)); x = internal(x); }
  for (const rc of fullLast) x = ext(full(x, rc));
  return x;
}
const TAG_NODE = BigInt(C.domainTags.node);
const hashNode = (l: bigint, r: bigint) => permute([TAG_NODE, l, r, 3n << 64n])[0];

// ---------- Yul emission ----------
const I = '            ';
const lines: string[] = [];
const emit = (s: string) => lines.push(I + s);

// State lives in the return variables o0..o3 (keeps the stack shallow: no stack-too-deep).
// External matrix M4 in place on reduced o0..o3 (< p); leaves reduced values:
//   t0 = o0+o1, t1 = o2+o3           (< p, addmod)
//   t2 = 2 o1 + t1, t3 = 2 o3 + t0    (< 3p, plain add)
//   t4 = 4 t1 + t3, t5 = 4 t0 + t2    (addmod of operands < 4p and < 3p, both < 2^256)
//   out = [t3 + t5, t5, t2 + t4, t4]
function emitExternal(ind = '') {
  emit(`${ind}{`);
  emit(`${ind}    let t0 := addmod(o0, o1, p)`);
  emit(`${ind}    let t1 := addmod(o2, o3, p)`);
  emit(`${ind}    let t2 := add(add(o1, o1), t1)`);
  emit(`${ind}    let t3 := add(add(o3, o3), t0)`);
  emit(`${ind}    o3 := addmod(shl(2, t1), t3, p)`);
  emit(`${ind}    o1 := addmod(shl(2, t0), t2, p)`);
  emit(`${ind}    o0 := addmod(t3, o1, p)`);
  emit(`${ind}    o2 := addmod(t2, o3, p)`);
  emit(`${ind}}`);
}
function emitFullRound(rc: State) {
  emit(`// full round`);
  rc.forEach((c, i) => {
    // o_i < p and rc_i < p: the sum fits in 256 bits; mulmod reduces it.
    emit(`o${i} := add(o${i}, ${hex(c)})`);
    emit(`{`);
    emit(`    let q := mulmod(o${i}, o${i}, p)`);
    emit(`    o${i} := mulmod(mulmod(q, q, p), o${i}, p)`);
    emit(`}`);
  });
  emitExternal();
}
function emitPartialRound(rc: bigint, ind = '') {
  emit(`${ind}{`);
  emit(`${ind}    o0 := add(o0, ${hex(rc)})`);
  emit(`${ind}    let q := mulmod(o0, o0, p)`);
  emit(`${ind}    o0 := mulmod(mulmod(q, q, p), o0, p)`);
  // o0..o3 < p: their sum is < 4p < 2^256.
  emit(`${ind}    let s := add(add(o0, o1), add(o2, o3))`);
  D.forEach((_, i) => emit(`${ind}    o${i} := addmod(mulmod(o${i}, d${i}, p), s, p)`));
  emit(`${ind}}`);
}

emit(`// p on the stack: DUP is cheaper than PUSH32 (and keeps the legacy constant optimizer from codecopy-ing it)`);
emit(`let p := P`);
emit(`// inputs are reduced modulo p first; every state value stays < p between layers`);
for (let i = 0; i < 4; i++) emit(`o${i} := mod(s${i}, p)`);
emit(`// initial external layer`);
emitExternal();
for (const rc of fullFirst) emitFullRound(rc);
emit(`// ${P2.partialRoundConstants.length} partial rounds; the internal diagonal on the stack: DUP instead of`);
emit(`// ${P2.partialRoundConstants.length * 4} PUSH32 (same gas, about 7 KB less code)`);
emit(`{`);
D.forEach((d, i) => emit(`    let d${i} := ${hex(d)}`));
for (const rc of partial) emitPartialRound(rc, '    ');
emit(`}`);
for (const rc of fullLast) emitFullRound(rc);

const header = `// GENERATED by scripts/gen-poseidon2-sol.ts from protocol/poseidon2-bn254.json. Do not edit.
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
`;

const poseidon = `${header}
import {ProtocolConstants} from "./ProtocolConstants.sol";

/// @title Poseidon2
/// @notice Poseidon2 over the BN254 scalar field (t = 4, d = 5, 8 full + 56 partial rounds) with
/// Barretenberg's parameters, bit-for-bit equal to \`poseidon2Permutation\` / \`poseidon2Hash\` of bb.js
/// (checked against test vectors produced by bb.js in contracts/test).
/// @dev Inputs are reduced modulo p before hashing; callers of the protocol hashes pass canonical
/// field elements (< p), for which the result equals bb.js on the same values.
library Poseidon2 {
    uint256 internal constant P = ${hex(p)};

    /// @notice The Poseidon2 permutation of the state \`(s0, s1, s2, s3)\`.
    function permute(uint256 s0, uint256 s1, uint256 s2, uint256 s3)
        internal
        pure
        returns (uint256 o0, uint256 o1, uint256 o2, uint256 o3)
    {
        /// @solidity memory-safe-assembly
        assembly {
${lines.join('\n')}
        }
    }

    /// @notice The Poseidon2 permutation of a 4-element state.
    function permutation(uint256[4] memory state) internal pure returns (uint256[4] memory out) {
        (out[0], out[1], out[2], out[3]) = permute(state[0], state[1], state[2], state[3]);
    }

    /// @notice Sponge hash H(a, b, c) of exactly three inputs: \`permute(a, b, c, 3 << 64)[0]\`.
    function hash3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256 h) {
        (h,,,) = permute(a, b, c, 3 << 64);
    }

    /// @notice Internal Merkle node \`H(TAG_NODE, left, right)\`.
    function hashNode(uint256 left, uint256 right) internal pure returns (uint256 h) {
        (h,,,) = permute(ProtocolConstants.TAG_NODE, left, right, 3 << 64);
    }

    /// @notice Leaf commitment \`H(TAG_LEAF, nullifier, secret)\`.
    function hashLeaf(uint256 nullifier, uint256 secret) internal pure returns (uint256 h) {
        (h,,,) = permute(ProtocolConstants.TAG_LEAF, nullifier, secret, 3 << 64);
    }

    /// @notice Nullifier hash \`H(TAG_NULLIFIER, nullifier)\`.
    function hashNullifier(uint256 nullifier) internal pure returns (uint256 h) {
        (h,,,) = permute(ProtocolConstants.TAG_NULLIFIER, nullifier, 0, 2 << 64);
    }

    /// @notice v2 flat account leaf \`H(TAG_ACCOUNT_F, id, tickets, expiryDay)\`: the sponge over four
    /// inputs, i.e. two permutations (the second absorbs \`expiryDay\` into lane 0).
    function hashAccountFlat(uint256 id, uint256 tickets, uint256 expiryDay) internal pure returns (uint256 h) {
        (uint256 s0, uint256 s1, uint256 s2, uint256 s3) = permute(ProtocolConstants.TAG_ACCOUNT_F, id, tickets, 4 << 64);
        (h,,,) = permute(addmod(s0, expiryDay, P), s1, s2, s3);
    }

    /// @notice v2 metered account leaf \`H(TAG_ACCOUNT_M, id, dLane, lanesLog2, sLane, expiryDay)\`: the sponge
    /// over six inputs, i.e. two permutations (the second absorbs \`lanesLog2, sLane, expiryDay\` into lanes 0..2).
    function hashAccountMetered(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 expiryDay)
        internal
        pure
        returns (uint256 h)
    {
        (uint256 s0, uint256 s1, uint256 s2, uint256 s3) = permute(ProtocolConstants.TAG_ACCOUNT_M, id, dLane, 6 << 64);
        (h,,,) = permute(addmod(s0, lanesLog2, P), addmod(s1, sLane, P), addmod(s2, expiryDay, P), s3);
    }

    /// @notice v2 account id \`H(TAG_ID, k)\`.
    function hashAccountId(uint256 k) internal pure returns (uint256 h) {
        (h,,,) = permute(ProtocolConstants.TAG_ID, k, 0, 2 << 64);
    }

    /// @notice v2 ticket nullifier \`H(TAG_NF, slope)\`.
    function hashTicketNullifier(uint256 slope) internal pure returns (uint256 h) {
        (h,,,) = permute(ProtocolConstants.TAG_NF, slope, 0, 2 << 64);
    }

    /// @notice Variable-length sponge hash, rate 3, capacity 1, initial capacity \`n << 64\`,
    /// exactly as bb.js \`poseidon2Hash(inputs)\` (one permutation per started block of three;
    /// an empty input is one permutation of the initial state).
    function hash(uint256[] memory inputs) internal pure returns (uint256 h) {
        uint256 n = inputs.length;
        uint256 s0;
        uint256 s1;
        uint256 s2;
        uint256 s3 = n << 64;
        uint256 i;
        do {
            if (i < n) s0 = addmod(s0, inputs[i], P);
            if (i + 1 < n) s1 = addmod(s1, inputs[i + 1], P);
            if (i + 2 < n) s2 = addmod(s2, inputs[i + 2], P);
            (s0, s1, s2, s3) = permute(s0, s1, s2, s3);
            i += 3;
        } while (i < n);
        h = s0;
    }
}
`;

const zeros = [0n];
for (let z = 0n, i = 0; i < C.treeDepth; i++) zeros.push((z = hashNode(z, z)));
const zeroCases = zeros.map((z, i) => `            case ${i} { z := ${hex(z)} }`).join('\n');
const zeroHashes = `${header}
/// @title ZeroHashes
/// @notice Roots of empty subtrees: Z_0 = 0 (empty leaf), Z_{i+1} = H(TAG_NODE, Z_i, Z_i), for
/// levels 0..${C.treeDepth} (Z_${C.treeDepth} is the root of the empty tree).
library ZeroHashes {
    /// @notice Thrown for a level above the tree depth.
    error LevelOutOfRange(uint256 level, uint256 maxLevel);

    /// @notice Deepest level with a precomputed zero hash (the tree depth).
    uint256 internal constant MAX_LEVEL = ${C.treeDepth};

    /// @notice Root of an empty subtree of height \`level\`.
    function zero(uint256 level) internal pure returns (uint256 z) {
        if (level > MAX_LEVEL) revert LevelOutOfRange(level, MAX_LEVEL);
        /// @solidity memory-safe-assembly
        assembly {
            switch level
${zeroCases}
        }
    }
}
`;

const files: Record<string, string> = {
  'contracts/src/generated/Poseidon2.sol': poseidon,
  'contracts/src/generated/ZeroHashes.sol': zeroHashes,
};
const check = process.argv.includes('--check');
const drift = [];
for (const [rel, text] of Object.entries(files)) {
  const abs = join(root, rel);
  if (check) {
    if (!existsSync(abs) || readFileSync(abs, 'utf8') !== text) drift.push(rel);
  } else {
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
}
if (drift.length) {
  console.error(`gen-poseidon2-sol: out of date: ${drift.join(', ')} (run npx tsx scripts/gen-poseidon2-sol.ts)`);
  process.exit(1);
}
if (!check) console.log(`gen-poseidon2-sol: wrote ${Object.keys(files).join(', ')}`);
