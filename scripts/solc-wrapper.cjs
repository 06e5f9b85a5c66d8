#!/usr/bin/env node
// Minimal `solc` command-line shim around npm solc-js so that forge can compile offline.
// Supports exactly what forge uses: `--version` and `--standard-json` (JSON on stdin, JSON on stdout).
// Extra arguments forge passes (--allow-paths, --base-path, --include-path, -) are accepted and ignored:
// forge inlines every source file's content into the standard-JSON input, so no import callback is needed.
'use strict';
const solc = require('solc');

const args = process.argv.slice(2);

function write(text, code) {
  // process.stdout.write on a pipe is asynchronous: exit only once the data has been flushed.
  process.stdout.write(text, () => process.exit(code));
}

if (args.includes('--version') || args.includes('-v')) {
  const v = solc.version().replace('.Emscripten.clang', '');
  write(`solc, the solidity compiler commandline interface\nVersion: ${v}.Linux.g++\n`, 0);
} else if (args.includes('--standard-json')) {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const input = Buffer.concat(chunks).toString('utf8');
    let output;
    try {
      output = solc.compile(input);
    } catch (err) {
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
