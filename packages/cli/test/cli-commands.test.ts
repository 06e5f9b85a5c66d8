// `attest`, `doctor` and `balance --json` against the real stack (Anvil + CreditPool, server,
// Venice simulator; the server's /v1/tee/collateral mirrors the simulator's PCS). The simulator's
// quotes chain to a test PKI, not to Intel's root, so the production CLI (Intel's root only) must
// fail closed: `attest` exits 9 with the binding checks passing and the DCAP checks failing, and
// `doctor` reports the collateral check failed (exit 11, with a fix) while every other check is ok.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2EE_MODEL, MODEL, startClientStack, waitModelsKnown, type Stack } from '../../client/test/helpers.js';
import { runCli, tempDir, type CliResult } from './cli-helpers.js';

const PASS = 'commands home passphrase';
const BINDING = ['nonce_echo', 'model_echo', 'server_verdict', 'signing_key', 'quote_format', 'debug_off', 'report_data'];
const DCAP = ['dcap_signature', 'dcap_crl', 'tcb_status'];

type Check = { name: string; status: 'pass' | 'fail' | 'skipped' | 'ok'; detail: string; fix?: string };

/** Every JSON document the command wrote on stdout. */
const documents = (r: CliResult) =>
  r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('zkcredits attest, doctor, balance', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let home: string;

  beforeAll(async () => {
    stack = await startClientStack();
    await waitModelsKnown(stack);
    home = join(await tempDir('commands'), 'home');
    const init = await cli(['init', '--server', stack.url, '--rpc', stack.chain.rpcUrl, '--no-keychain', '--model', MODEL]);
    expect(init.code, init.stderr).toBe(0);
  });

  afterAll(async () => {
    await stack?.stopAll();
  });

  const cli = (args: string[], json = true) => runCli(['--home', home, ...(json ? ['--json'] : []), ...args], { env: { ZKC_PASSPHRASE: PASS } });

  it('attest --json: one document, the report; against the simulator (test PKI, not Intel) it fails closed, exit 9', async () => {
    const r = await cli(['attest', E2EE_MODEL]);
    expect(r.code, r.stderr).toBe(9);
    const docs = documents(r);
    expect(docs, r.stdout).toHaveLength(1);
    const report = docs[0] as { ok: boolean; model: string; level: string; achieved: string; checks: Check[]; tcbStatus: unknown; error: { code: string } };
    expect(report).toMatchObject({ ok: false, model: E2EE_MODEL, level: 'dcap', achieved: 'binding', tcbStatus: null, error: { code: 'attestation_failed' } });
    // Exactly: every binding check passes, every DCAP check fails (not Intel's root), the rest skipped.
    const status = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    expect(status).toEqual({
      ...Object.fromEntries(BINDING.map((n) => [n, 'pass'])),
      ...Object.fromEntries(DCAP.map((n) => [n, 'fail'])),
      measurement: 'skipped',
      gpu: 'skipped',
    });
    const detail = Object.fromEntries(report.checks.map((c) => [c.name, c.detail]));
    expect(detail.dcap_signature).toMatch(/certificate chain/i);
    expect(detail.dcap_crl).toMatch(/Intel SGX Root CA/);
    expect(detail.tcb_status).toMatch(/not evaluated/);
    for (const c of report.checks) expect(c.detail.length, c.name).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/did not pass attestation: nothing would be sent/);
  });

  it('attest (human): one line per check with its name, status and detail; exit 9', async () => {
    const r = await cli(['attest', E2EE_MODEL], false);
    expect(r.code, r.stderr).toBe(9);
    expect(r.stdout).toContain(`Attestation of ${E2EE_MODEL}: FAILED (level asked dcap, achieved binding)`);
    const lines = r.stdout.split('\n');
    const lineOf = (name: string) => lines.filter((l) => new RegExp(`^  [✔✖–] ${name} +(pass|fail|skipped) +\\S`).test(l));
    for (const name of BINDING) expect(lineOf(name)[0], name).toMatch(new RegExp(`✔ ${name} +pass `));
    for (const name of DCAP) expect(lineOf(name)[0], name).toMatch(new RegExp(`✖ ${name} +fail `));
    for (const name of ['measurement', 'gpu']) expect(lineOf(name)[0], name).toMatch(new RegExp(`– ${name} +skipped `));
    expect(lines.filter((l) => /^  [✔✖–] /.test(l))).toHaveLength(BINDING.length + DCAP.length + 2);
    expect(r.stderr).toMatch(/zkcredits: The enclave of .* did not pass attestation/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('doctor: one line per check; all ok but the collateral (test PKI), which fails with a fix: exit 11', async () => {
    const r = await cli(['doctor'], false);
    expect(r.code, r.stderr).toBe(11);
    const lines = r.stdout.trim().split('\n');
    const checkLines = lines.filter((l) => /^[✔✖–] /.test(l));
    expect(checkLines.map((l) => l.split(/\s+/).slice(1, 3))).toEqual([
      ['home', 'ok'],
      ['socks', 'ok'],
      ['rpc', 'ok'],
      ['server', 'ok'],
      ['crs', 'ok'],
      ['prover', 'ok'],
      ['collateral', 'fail'],
      ['vault', 'ok'],
    ]);
    expect(checkLines.find((l) => / socks /.test(l))).toMatch(/no SOCKS proxy set: direct connections/);
    expect(checkLines.find((l) => / rpc /.test(l))).toMatch(new RegExp(`is on chain ${stack.chain.chainId}`));
    expect(checkLines.find((l) => / prover /.test(l))).toMatch(/proves and verifies a throwaway spend \(\d+ ms\)/);
    expect(checkLines.find((l) => / collateral /.test(l))).toMatch(new RegExp(`✖ collateral fail +${E2EE_MODEL}: dcap_signature: `));
    // The failed check, and only it, is followed by its fix.
    const fixes = lines.filter((l) => l.startsWith('  fix: '));
    expect(fixes).toEqual([`  fix: run \`zkcredits attest ${E2EE_MODEL}\` for every check; the server's /v1/tee/collateral mirror may be stale`]);
    expect(lines[lines.indexOf(checkLines.find((l) => / collateral /.test(l))!) + 1]).toBe(fixes[0]);
    expect(r.stderr).toMatch(/1 check\(s\) failed/);

    const j = await cli(['doctor']);
    expect(j.code, j.stderr).toBe(11);
    const docs = documents(j);
    expect(docs, j.stdout).toHaveLength(1);
    const doc = docs[0] as { ok: boolean; checks: Check[]; error: { code: string } };
    expect(doc).toMatchObject({ ok: false, error: { code: 'doctor_failed' } });
    expect(doc.checks.map((c) => [c.name, c.status, typeof c.detail, c.fix !== undefined])).toEqual([
      ['home', 'ok', 'string', false],
      ['socks', 'ok', 'string', false],
      ['rpc', 'ok', 'string', false],
      ['server', 'ok', 'string', false],
      ['crs', 'ok', 'string', false],
      ['prover', 'ok', 'string', false],
      ['collateral', 'fail', 'string', true],
      ['vault', 'ok', 'string', false],
    ]);
  });

  it('balance --json: one document, the counts by status and the accounts, flat and metered (none)', async () => {
    const r = await cli(['balance']);
    expect(r.code, r.stderr).toBe(0);
    expect(documents(r)).toEqual([{ ok: true, credits: { pending: 0, unspent: 0, spent: 0, abandoned: 0, archived: 0 }, accounts: [], metered: [] }]);
    const human = await cli(['balance'], false);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('Credits: 0 unspent, 0 pending, 0 spent.\n');
  });
});
