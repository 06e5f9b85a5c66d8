// Writes protocol/test-vectors.json: Poseidon2 permutation/sponge outputs, protocol hashes, zero hashes
// and incremental-tree roots, every hash computed by @aztec/bb.js (the reference implementation).
// Inputs are derived deterministically from SHA-256, so the file is reproducible; `--check` fails on drift.
// Consumers: contracts/test (vm.parseJson*), TypeScript and Noir tests.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BarretenbergSync, BackendType } from '@aztec/bb.js';

/** The part of protocol/constants.json used here. */
interface ProtocolConstants {
  fieldModulus: string;
  treeDepth: number;
  domainTags: { leaf: string; node: string; nullifier: string };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const C = JSON.parse(readFileSync(join(root, 'protocol/constants.json'), 'utf8')) as ProtocolConstants;
const p = BigInt(C.fieldModulus);
const DEPTH = C.treeDepth;
const TAG_LEAF = BigInt(C.domainTags.leaf);
const TAG_NODE = BigInt(C.domainTags.node);
const TAG_NULLIFIER = BigInt(C.domainTags.nullifier);

const bb = await BarretenbergSync.new({ backend: BackendType.Wasm });
const toBytes = (x: bigint) => {
  const b = new Uint8Array(32);
  let v = x;
  for (let i = 31; i >= 0; i--) { b[i] = Number(v & 255n); v >>= 8n; }
  return b;
};
const toBig = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'));
const hex = (x: bigint) => '0x' + x.toString(16).padStart(64, '0');
const H = (xs: bigint[]) => toBig(bb.poseidon2Hash({ inputs: xs.map(toBytes) }).hash);
const perm = (xs: bigint[]) => bb.poseidon2Permutation({ inputs: xs.map(toBytes) }).outputs.map(toBig);

/** Deterministic pseudo-random bytes: SHA-256("zkcredits.vectors/" + label). */
const prf = (label: string) => createHash('sha256').update(`zkcredits.vectors/${label}`).digest();
const field = (label: string) => toBig(prf(label)) % p;
const secret31 = (label: string) => toBig(prf(label).subarray(0, 31)) || 1n;

// --- permutation: edge values and pseudo-random states
const permInputs = [
  [0n, 0n, 0n, 0n],
  [0n, 1n, 2n, 3n],
  [p - 1n, p - 1n, p - 1n, p - 1n],
  ...Array.from({ length: 5 }, (_, k) => [0, 1, 2, 3].map((i) => field(`perm/${k}/${i}`))),
];
const permutation = { inputs: [] as string[], outputs: [] as string[] };
for (const s of permInputs) {
  permutation.inputs.push(...s.map(hex));
  permutation.outputs.push(...perm(s).map(hex));
}

// --- sponge: every length 0..8 (covers empty, partial and full rate-3 blocks)
const hashVectors: { inputs: string[]; output: string }[] = [];
for (let n = 0; n <= 8; n++) {
  const inputs = Array.from({ length: n }, (_, i) => field(`hash/${n}/${i}`));
  hashVectors.push({ inputs: inputs.map(hex), output: hex(H(inputs)) });
}

// --- protocol hashes
const credentials = Array.from({ length: 4 }, (_, k) => ({
  nullifier: secret31(`cred/${k}/nullifier`),
  secret: secret31(`cred/${k}/secret`),
}));
const hashLeaf = { nullifier: [] as string[], secret: [] as string[], commitment: [] as string[] };
const nullifierHash = { nullifier: [] as string[], hash: [] as string[] };
for (const { nullifier, secret } of credentials) {
  hashLeaf.nullifier.push(hex(nullifier));
  hashLeaf.secret.push(hex(secret));
  hashLeaf.commitment.push(hex(H([TAG_LEAF, nullifier, secret])));
  nullifierHash.nullifier.push(hex(nullifier));
  nullifierHash.hash.push(hex(H([TAG_NULLIFIER, nullifier])));
}
const hashNode = { left: [] as string[], right: [] as string[], hash: [] as string[] };
const nodeInputs: [bigint, bigint][] = [[0n, 0n], [1n, 2n], [p - 1n, 0n], [field('node/l'), field('node/r')]];
for (const [l, r] of nodeInputs) {
  hashNode.left.push(hex(l));
  hashNode.right.push(hex(r));
  hashNode.hash.push(hex(H([TAG_NODE, l, r])));
}

// --- zero hashes Z_0..Z_DEPTH
const zeros = [0n];
for (let z = 0n, i = 0; i < DEPTH; i++) zeros.push((z = H([TAG_NODE, z, z])));
/** Z_level (0..DEPTH). */
const zero = (level: number) => {
  const z = zeros[level];
  if (z === undefined) throw new Error(`gen-vectors: no zero hash at level ${level}`);
  return z;
};

// --- trees: roots after each batch of a batch sequence (full recomputation, zero-padded)
function rootOf(leaves: bigint[]): bigint {
  let level = leaves;
  for (let l = 0; l < DEPTH; l++) {
    const next: bigint[] = [];
    for (let j = 0; j < level.length; j += 2) {
      next.push(H([TAG_NODE, level[j]!, level[j + 1] ?? zero(l)]));
    }
    level = next.length ? next : [zero(l + 1)];
  }
  return level[0]!;
}
const batchSequences = [[1], [1, 1, 1], [2, 3, 5, 8], [7, 1, 16, 6], [33], [1, 31, 1, 64, 2]];
const trees = batchSequences.map((batches, t) => {
  const total = batches.reduce((a, b) => a + b, 0);
  const leaves = Array.from({ length: total }, (_, i) =>
    H([TAG_LEAF, secret31(`tree/${t}/${i}/nullifier`), secret31(`tree/${t}/${i}/secret`)]));
  const roots: string[] = [];
  let end = 0;
  for (const n of batches) { end += n; roots.push(hex(rootOf(leaves.slice(0, end)))); }
  return { batches, leaves: leaves.map(hex), roots };
});

const vectors = {
  _comment: 'GENERATED by scripts/gen-vectors.ts with @aztec/bb.js poseidon2Hash/poseidon2Permutation. Do not edit.',
  treeDepth: DEPTH,
  permutation: { count: permInputs.length, ...permutation },
  hash: { count: hashVectors.length, vectors: hashVectors },
  hashLeaf: { count: credentials.length, ...hashLeaf },
  nullifierHash: { count: credentials.length, ...nullifierHash },
  hashNode: { count: hashNode.left.length, ...hashNode },
  zeros: zeros.map(hex),
  emptyRoot: hex(zero(DEPTH)),
  trees: { count: trees.length, vectors: trees },
};
const text = JSON.stringify(vectors, null, 1) + '\n';
const out = join(root, 'protocol/test-vectors.json');
if (process.argv.includes('--check')) {
  if (!existsSync(out) || readFileSync(out, 'utf8') !== text) {
    console.error('gen-vectors: protocol/test-vectors.json is out of date (run npx tsx scripts/gen-vectors.ts)');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  console.log('gen-vectors: wrote protocol/test-vectors.json');
}
