#!/usr/bin/env node
// @ts-check
// Minimal `solc` command-line shim around npm solc-js so that forge can compile offline.
// Supports exactly what forge uses: `--version` and `--standard-json` (JSON on stdin, JSON on stdout).
// Extra arguments forge passes (--allow-paths, --base-path, --include-path, -) are accepted and ignored:
// forge inlines every source file's content into the standard-JSON input, so no import callback is needed.
// Type-checked by `tsc -b` (scripts/tsconfig.json: allowJs + checkJs) through the JSDoc below.
'use strict';
/** @type {{ version(): string, compile(input: string): string }} solc-js's own typings say `any`. */
const solc = require('solc');

const args = process.argv.slice(2);

/**
 * @param {string} text
 * @param {number} code exit status
 */
function write(text, code) {
  // process.stdout.write on a pipe is asynchronous: exit only once the data has been flushed.
  process.stdout.write(text, () => process.exit(code));
}

if (args.includes('--version') || args.includes('-v')) {
  const v = solc.version().replace('.Emscripten.clang', '');
  write(`solc, the solidity compiler commandline interface\nVersion: ${v}.Linux.g++\n`, 0);
} else if (args.includes('--standard-json')) {
  /** @type {Buffer[]} */
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const input = Buffer.concat(chunks).toString('utf8');
    let output;
    try {
      output = solc.compile(input);
    } catch (thrown) {
      // Usually an Error; anything else is reported as its `message` / `stack` property (if any).
      const err = /** @type {{ message?: unknown, stack?: unknown } | null | undefined} */ (thrown);
      output = JSON.stringify({
        errors: [{ type: 'InternalCompilerError', component: 'general', severity: 'error',
          message: String(err && err.message), formattedMessage: String(err && err.stack) }],
      });
    }
    write(output, 0);
  });
} else {
  process.stderr.write(`solc-wrapper: unsupported arguments: ${args.join(' ')}\n`);
  process.exit(2);
}
