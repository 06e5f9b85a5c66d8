// README.md's numbers paragraph, written from the last entry of bench/history.jsonl.
//   npx tsx bench/readme.ts           rewrite the paragraph (`npm run bench` does it after a complete run)
//   npx tsx bench/readme.ts --check   fail if the README's paragraph is not the one the last entry gives (npm test)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, readHistory, type HistoryEntry } from './history.js';

export const README_PATH = join(ROOT, 'README.md');
const BEGIN = '<!-- bench:numbers: written from the last line of bench/history.jsonl by `npm run bench`; npm test checks it -->';
const END = '<!-- /bench:numbers -->';

/** The keys the paragraph quotes: a run without one of them cannot be quoted. */
export const QUOTED_KEYS = [
  'prove_native_ms',
  'prove_wasm_ms',
  'browser_prove_warm_ms',
  'browser_leaves_fetch_ms',
  'verify_native_ms',
  'gas_buy_1',
  'gas_per_credit_batch_32',
  'gas_poseidon2_hash2',
  'server_rps',
  'server_p50_ms',
  'server_overhead_ms',
  'attest_verify_ms',
  'browser_attest_verify_ms',
  'e2ee_overhead_ms',
  'proxy_overhead_ms',
  'cli_cold_first_answer_ms',
  'prove_ticket_native_ms',
  'browser_prove_ticket_warm_ms',
  'gas_open_account',
  'gas_per_call_100',
  'gas_slash',
  'server_rps_v2',
  'prove_metered_native_ms',
  'browser_prove_metered_warm_ms',
  'gas_open_metered',
  'server_state_sign_ms',
  'server_rps_metered',
] as const;

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** The paragraph between the markers, from one history entry. */
export function renderNumbers(entry: HistoryEntry): string {
  const missing = QUOTED_KEYS.filter((k) => entry.results[k] === undefined);
  if (missing.length > 0) throw new Error(`the bench entry of ${entry.date} has no ${missing.join(', ')}`);
  const r = Object.fromEntries(QUOTED_KEYS.map((k) => [k, fmt(entry.results[k]!)])) as Record<(typeof QUOTED_KEYS)[number], string>;
  const rev = entry.rev ? `, rev ${entry.rev.slice(0, 7)}${entry.dirty ? ' with local changes' : ''}` : '';
  return [
    `Last run (${entry.date.slice(0, 10)}, ${entry.cores} cores, load ${fmt(entry.load1)} at start${rev}): a proof takes`,
    `${r.prove_native_ms} ms natively, ${r.prove_wasm_ms} ms in WASM in Node and ${r.browser_prove_warm_ms} ms warm in the browser`,
    `(proving only; fetching the new leaves before it takes ${r.browser_leaves_fetch_ms} ms); verifying takes ${r.verify_native_ms} ms.`,
    `Buying one credit costs ${r.gas_buy_1} gas and a batch ${r.gas_per_credit_batch_32} gas per credit (one Poseidon2`,
    `hash is ${r.gas_poseidon2_hash2} gas). The server handles ${r.server_rps} verified requests/s at p50 ${r.server_p50_ms} ms,`,
    `adding ${r.server_overhead_ms} ms over calling Venice directly. Checking an enclave's attestation (DCAP) takes`,
    `${r.attest_verify_ms} ms in Node and ${r.browser_attest_verify_ms} ms in the browser; end-to-end encryption costs the client`,
    `${r.e2ee_overhead_ms} ms of CPU for a 1 KB prompt and a 200-token answer. The local proxy adds ${r.proxy_overhead_ms} ms`,
    `over a direct API-key call, and a cold \`zkcredits chat\` prints its first answer byte after ${r.cli_cold_first_answer_ms} ms.`,
    `Accounts (protocol v2): a ticket proof takes ${r.prove_ticket_native_ms} ms natively and ${r.browser_prove_ticket_warm_ms} ms warm in the`,
    `browser; opening an account costs ${r.gas_open_account} gas (${r.gas_per_call_100} gas per call for 100 calls), a slash`,
    `${r.gas_slash} gas, and the server handles ${r.server_rps_v2} ticket-paid requests/s in the same run.`,
    `Metered calls: a proof takes ${r.prove_metered_native_ms} ms natively and ${r.browser_prove_metered_warm_ms} ms warm in the browser, opening`,
    `a metered account costs ${r.gas_open_metered} gas, signing a call's state takes the server ${r.server_state_sign_ms} ms, and it`,
    `handles ${r.server_rps_metered} metered requests/s in the same run.`,
    `Every key of every run: \`bench/history.jsonl\`.`,
  ].join('\n');
}

function splitReadme(text: string): { before: string; current: string; after: string } {
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < b) throw new Error(`README.md has no numbers paragraph between\n  ${BEGIN}\nand\n  ${END}`);
  return { before: text.slice(0, b + BEGIN.length), current: text.slice(b + BEGIN.length, e), after: text.slice(e) };
}

function lastEntry(): HistoryEntry {
  const last = readHistory().at(-1);
  if (!last) throw new Error('bench/history.jsonl has no entry: run `npm run bench`');
  return last;
}

/** Rewrites README.md's numbers paragraph from the last history entry. */
export function writeReadmeNumbers(): void {
  const { before, after } = splitReadme(readFileSync(README_PATH, 'utf8'));
  writeFileSync(README_PATH, `${before}\n${renderNumbers(lastEntry())}\n${after}`);
}

/** Null when README.md quotes the last history entry, else what differs. */
export function checkReadmeNumbers(readme = readFileSync(README_PATH, 'utf8'), entry = lastEntry()): string | null {
  const current = splitReadme(readme).current.trim();
  const expected = renderNumbers(entry);
  if (current === expected) return null;
  return `README.md's numbers are not those of the last entry of bench/history.jsonl (${entry.date}).\nREADME.md says:\n${current}\nThe entry gives:\n${expected}\nRun \`npx tsx bench/readme.ts\` to rewrite the paragraph.`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--check')) {
    const problem = checkReadmeNumbers();
    if (problem) {
      console.error(problem);
      process.exit(1);
    }
    console.log('[bench] README.md quotes the last entry of bench/history.jsonl');
  } else {
    writeReadmeNumbers();
    console.log('[bench] README.md numbers rewritten from the last entry of bench/history.jsonl');
  }
}
