// One source of truth: the generated Noir/Solidity/TypeScript constants, the Poseidon2
// Solidity code, the test vectors and the compiled circuit + pinned VK must all match
// what their generators produce from protocol/ and circuits/ today.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../..', import.meta.url));

describe('generated files have not drifted from their sources', () => {
  it.each([
    ['protocol constants (Noir, Solidity, TypeScript)', ['--import', 'tsx', 'scripts/gen-constants.ts', '--check']],
    ['Poseidon2 and zero hashes in Solidity', ['--import', 'tsx', 'scripts/gen-poseidon2-sol.ts', '--check']],
    ['cross-language test vectors', ['--import', 'tsx', 'scripts/gen-vectors.ts', '--check']],
    ['client vectors (request hash, credential encoding)', ['--import', 'tsx', 'scripts/gen-client-vectors.ts', '--check']],
    ['protocol v2 vectors (account secrets, ids, leaves, tickets, slash evidence)', ['--import', 'tsx', 'scripts/gen-v2-vectors.ts', '--check']],
    ['E2EE field encryption vectors', ['--import', 'tsx', 'scripts/gen-e2ee-vectors.ts', '--check']],
    ['compiled circuits and pinned verification keys', ['--import', 'tsx', 'scripts/build-circuits.ts', '--check']],
  ])('%s', async (_name, args) => {
    const { stdout } = await run(process.execPath, args, { cwd: root });
    expect(stdout).not.toMatch(/stale|drift/i);
  });
});
