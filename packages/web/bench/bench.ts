// Browser benchmarks of the web app against the real stack (needs a test build: npm run build:test;
// the root `npm run bench` makes it).
//   browser_prove_cold_ms    fresh page: worker start + circuit + CRS load + witness + proof (the
//                            first leaves sync in between is not counted)
//   browser_prove_warm_ms    median of the next proofs on the same page: witness + proof only
//   browser_prove_ticket_warm_ms  median of v2 ticket proofs on the same warm page and bb instance
//                            (the worker's TicketSpender: journal round trip to the page + witness +
//                            proof; the first ticket proof, which sets up the circuit, not counted)
//   browser_leaves_fetch_ms  median of the leaves sync before each of those proofs (GET
//                            /api/zk/v1/zkcredits/leaves through the app's proxy; the mirror is
//                            up to date, so one page with no new leaves)
//   web_first_load_kb        gzip size of the JavaScript loaded before the app is usable
//   browser_attest_verify_ms median of warm verifications (DCAP, in the worker) of fresh attestations of
//                            the simulator's E2EE model (test build: its test root is trusted); the
//                            attestation fetch is not counted, the first run (verifier load, collateral
//                            fetch) is not either
import { gzipSync } from 'node:zlib';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import {
  accountId,
  credentialCommitment,
  deriveAccountSecret,
  generateCredential,
  initPoseidon2,
  readAccount,
  toFieldHex,
  waitForReceipt,
} from '@zkcredits/core';
import { createPublicClient, createWalletClient, http, parseAbi } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { launchProfile, removeProfile } from '../test/helpers/browser';
import { E2EE_MODEL, MODEL, startStack } from '../test/helpers/stack';

const WARM_RUNS = 4;
const ATTEST_RUNS = 5;

const abi = parseAbi([
  'function mint(address to, uint256 amount)',
  'function approve(address spender, uint256 value) returns (bool)',
  'function buy(uint256[] commitments, uint256 maxTotal) returns (uint256, uint256)',
  'function openFlat(uint256 id, uint256 tickets, uint256 maxTotal) returns (uint256, uint256)',
]);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function benchWeb(): Promise<Record<string, number>> {
  await initPoseidon2();
  const stack = await startStack({ e2ee: true });
  const profile = await launchProfile();
  try {
    // Credits bought and an account opened from Node (the purchase UI is covered by the e2e tests).
    const creds = Array.from({ length: 1 + WARM_RUNS }, () => generateCredential());
    const k = deriveAccountSecret(0x5eedn, 0);
    const id = accountId(k);
    const account = privateKeyToAccount(ANVIL_KEYS[3]);
    const client = createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) });
    const wallet = createWalletClient({ chain: foundry, account, transport: http(stack.anvil.rpcUrl) });
    for (const [functionName, address, args] of [
      ['mint', stack.token, [account.address, 10n ** 12n]],
      ['approve', stack.token, [stack.pool, 10n ** 12n]],
      ['buy', stack.pool, [creds.map(credentialCommitment), 10n ** 12n]],
      ['openFlat', stack.pool, [id, BigInt(1 + WARM_RUNS), 10n ** 12n]],
    ] as const) {
      const hash = await wallet.writeContract({ address, abi, functionName, args: args as never });
      await waitForReceipt(client, { hash });
    }
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${stack.server.url}/v1/zkcredits/leaves?from=0`).then((x) => x.json() as Promise<{ total: number }>);
      if (r.total >= creds.length + 1) break;
      await new Promise((res) => setTimeout(res, 100));
    }

    // First load: scripts fetched until the app is usable (the same bundle renders the chat).
    const page = await profile.context.newPage();
    const scripts = new Map<string, Promise<Buffer>>();
    page.on('response', (r) => {
      if (r.request().resourceType() === 'script' && r.ok()) scripts.set(r.url(), r.body().catch(() => Buffer.alloc(0)));
    });
    await page.goto(stack.webUrl, { waitUntil: 'networkidle' });
    await page.getByRole('button', { name: /Create vault|Unlock/ }).waitFor();
    let gz = 0;
    for (const body of scripts.values()) gz += gzipSync(await body, { level: 9 }).length;

    // Proofs, timed inside the page (fresh page → cold; then warm).
    const inputs = creds.map((c, i) => ({
      nullifier: toFieldHex(c.nullifier),
      secret: toFieldHex(c.secret),
      commitment: toFieldHex(credentialCommitment(c)),
      chainId: 31337,
      contract: stack.pool,
      method: 'POST' as const,
      path: '/v1/chat/completions',
      body: { model: MODEL, messages: [{ role: 'user', content: `benchmark ${i}` }], stream: true },
    }));
    const times = await page.evaluate(async (reqs) => {
      type Hooks = { prover(): { tree(): Promise<unknown>; prove(r: unknown): Promise<unknown> }; syncTree(p: unknown): Promise<number> };
      const t = (window as unknown as { __zkcTest: Hooks }).__zkcTest;
      const out: { sync: number; prove: number }[] = [];
      const t0 = performance.now();
      const p = t.prover();
      await p.tree(); // the worker has started
      const boot = performance.now() - t0;
      for (const r of reqs) {
        const t1 = performance.now();
        await t.syncTree(p);
        const t2 = performance.now();
        await p.prove(r);
        out.push({ sync: t2 - t1, prove: performance.now() - t2 });
      }
      out[0]!.prove += boot;
      return out;
    }, inputs);
    const warm = times.slice(1);

    // Ticket proofs on the same warm worker: the journal is a stub in the page (one ticket each).
    const slot = await readAccount(client, stack.pool, id);
    const ticketAccount = {
      id: 'b'.repeat(32),
      kind: 'flat',
      accountId: toFieldHex(id),
      secret: toFieldHex(k),
      index: 0,
      status: 'open',
      chainId: 31337,
      contract: stack.pool,
      tickets: 1 + WARM_RUNS,
      expiryDay: slot.expiryDay,
      leafIndex: slot.leafIndex,
      fromBlock: '0',
      nextTicket: 0,
      journal: [],
      burned: 0,
      createdAt: Date.now(),
    };
    const ticketMs = await page.evaluate(
      async ({ account, runs, model }) => {
        type Wire<T> = { ok: true; value: T } | { ok: false; error: { message: string } };
        type Hooks = {
          prover(): {
            ticketSpend(req: unknown, journal: unknown): Promise<Wire<unknown>>;
          };
          syncTree(p: unknown): Promise<number>;
        };
        const t = (window as unknown as { __zkcTest: Hooks }).__zkcTest;
        const p = t.prover();
        await t.syncTree(p);
        let next = 0;
        // Assigned, not written as object members: tsx would wrap named functions in a `__name`
        // helper the page does not have.
        const journal: Record<string, unknown> = {};
        journal.takeTicket = async () => ({ ok: true, value: { ticket: next++, account } });
        journal.settleTicket = async () => ({ ok: true, value: account });
        const today = Math.floor(Date.now() / 86_400_000);
        const out: number[] = [];
        for (let i = 0; i <= runs; i++) {
          const request = { method: 'POST', path: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `ticket ${i}` }], stream: true } };
          const t0 = performance.now();
          const r = await p.ticketSpend({ account, request, today }, journal);
          if (!r.ok) throw new Error(r.error.message);
          out.push(performance.now() - t0);
        }
        return out.slice(1);
      },
      { account: ticketAccount, runs: WARM_RUNS, model: MODEL },
    );

    // Attestation verification in the worker (the verifier is loaded on the first run).
    const verifyMs = await page.evaluate(
      async ({ root, model, runs }) => {
        type Hooks = {
          trustAttestationRoot(hex: string): Promise<void>;
          prover(): { e2eeBenchVerify(model: string): Promise<{ ok: boolean; verifyMs: number }> };
        };
        const t = (window as unknown as { __zkcTest: Hooks }).__zkcTest;
        await t.trustAttestationRoot(root);
        const out: number[] = [];
        for (let i = 0; i <= runs; i++) {
          const r = await t.prover().e2eeBenchVerify(model);
          if (!r.ok) throw new Error('the sim attestation did not verify');
          out.push(r.verifyMs);
        }
        return out.slice(1);
      },
      { root: Buffer.from(stack.sim.attestationRootCaDer).toString('hex'), model: E2EE_MODEL, runs: ATTEST_RUNS },
    );
    return {
      browser_prove_cold_ms: Math.round(times[0]!.prove),
      browser_prove_warm_ms: Math.round(median(warm.map((x) => x.prove))),
      browser_prove_ticket_warm_ms: Math.round(median(ticketMs)),
      browser_leaves_fetch_ms: Math.round(median(warm.map((x) => x.sync)) * 10) / 10,
      web_first_load_kb: Math.round(gz / 1024),
      browser_attest_verify_ms: Math.round(median(verifyMs) * 10) / 10,
    };
  } finally {
    await profile.close();
    removeProfile(profile.dir);
    await stack.stop();
  }
}
