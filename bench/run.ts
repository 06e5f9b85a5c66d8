// `npm run bench`: runs every benchmark suite, prints a table, writes bench/results.json.
// Suites: core (circuit, prover, tree), gas (Anvil receipts), server, web. A suite whose
// module is missing or fails is reported and the others still run; the exit code is 1
// if any suite failed.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
type Suite = { name: string; module: string; fn: string };
const suites: Suite[] = [
  { name: 'core', module: 'bench/core.ts', fn: 'benchCore' },
  { name: 'gas', module: 'scripts/bench-gas.mjs', fn: 'benchGas' },
  { name: 'server', module: 'packages/server/bench/bench.ts', fn: 'benchServer' },
  { name: 'web', module: 'packages/web/bench/bench.ts', fn: 'benchWeb' },
];
const only = process.argv.slice(2);

// A run of some suites (`npm run bench -- core gas`) updates their keys and keeps the others.
const resultsPath = join(root, 'bench/results.json');
const previous: Record<string, number> = only.length && existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
const results: Record<string, number> = {};
let failed = false;
for (const suite of suites) {
  if (only.length && !only.includes(suite.name)) continue;
  const path = join(root, suite.module);
  if (!existsSync(path)) {
    console.error(`[bench] ${suite.name}: ${suite.module} not found, skipped`);
    failed = true;
    continue;
  }
  process.stderr.write(`[bench] ${suite.name} …\n`);
  try {
    const mod = await import(pathToFileURL(path).href);
    Object.assign(results, await mod[suite.fn]());
  } catch (error) {
    console.error(`[bench] ${suite.name} failed:`, error);
    failed = true;
  }
}

const width = Math.max(...Object.keys(results).map((k) => k.length), 10);
console.log(`\n${'metric'.padEnd(width)}  value`);
console.log(`${'-'.repeat(width)}  ----------`);
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(width)}  ${v.toLocaleString('en-US')}`);
writeFileSync(resultsPath, JSON.stringify({ ...previous, ...results }, null, 2) + '\n');
console.log(`\nwrote bench/results.json`);
process.exit(failed ? 1 : 0);
