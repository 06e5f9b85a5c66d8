// `npm run bench`: runs every benchmark suite, prints a table, writes bench/results.json.
// A complete run (every suite, none failed) is appended to bench/history.jsonl (date, git
// revision, cores, load, every key) and README.md's numbers paragraph is rewritten from it.
//   npm run bench                 every suite
//   npm run bench -- core gas     some suites: updates their keys in results.json, not the history
// Suites: core (circuit, prover, tree), gas (Anvil receipts), attest (attestation, E2EE), client (SDK), server, cli (proxy, cold chat), web (real browser). Each
// builds what it needs (gas: forge build; web: the test build). A suite that fails is reported
// and the others still run; the exit code is 1 if any suite failed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, appendHistory, describeRun } from './history.js';
import { writeReadmeNumbers } from './readme.js';

type Results = Record<string, number>;
type Suite = { name: string; run: () => Promise<Results> };

const suites: Suite[] = [
  { name: 'core', run: async () => (await import('./core.js')).benchCore() },
  { name: 'gas', run: async () => (await import('./gas.js')).benchGas() },
  { name: 'attest', run: async () => (await import('./attest.js')).benchAttest() },
  { name: 'client', run: async () => (await import('./client.js')).benchClient() },
  { name: 'server', run: async () => (await import('../packages/server/bench/bench.js')).benchServer() },
  { name: 'cli', run: async () => (await import('./cli.js')).benchCli() },
  {
    name: 'web',
    run: async () => {
      execFileSync('bash', ['scripts/web-build.sh', 'test'], { cwd: ROOT, stdio: 'inherit' });
      // The web package's bench resolves like the app (bundler-style imports): tsx runs it, tsc checks it there.
      const mod = (await import(pathToFileURL(join(ROOT, 'packages/web/bench/bench.ts')).href)) as { benchWeb(): Promise<Results> };
      return mod.benchWeb();
    },
  },
];
const only = process.argv.slice(2);
const unknown = only.filter((name) => !suites.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`[bench] no suite ${unknown.join(', ')}; suites: ${suites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

const run = describeRun();
const resultsPath = join(ROOT, 'bench/results.json');
const previous: Results = only.length && existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : {};
const results: Results = {};
let failed = false;
for (const suite of suites) {
  if (only.length && !only.includes(suite.name)) continue;
  process.stderr.write(`[bench] ${suite.name} …\n`);
  try {
    Object.assign(results, await suite.run());
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
if (only.length === 0 && !failed) {
  appendHistory({ date: new Date().toISOString(), ...run, results });
  writeReadmeNumbers();
  console.log(`appended the run to bench/history.jsonl (${run.cores} cores, load ${run.load1} at start) and rewrote README.md's numbers`);
} else {
  console.log('not appended to bench/history.jsonl: only a complete run (every suite, none failed) is');
}
process.exit(failed ? 1 : 0);
