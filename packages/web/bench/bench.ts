// Browser benchmarks of the web app against the real stack (needs a test build: npm run build:test;
// the root `npm run bench` makes it).
//   browser_prove_cold_ms    fresh page: worker start + circuit + CRS load + witness + proof (the
//                            first leaves sync in between is not counted)
//   browser_prove_warm_ms    median of the next proofs on the same page: witness + proof only
//   browser_prove_ticket_warm_ms  median of v2 ticket proofs on the same warm page and bb instance
//                            (the worker's TicketSpender: journal round trip to the page + witness +
//                            proof; the first ticket proof, which sets up the circuit, not counted)
//   browser_prove_metered_warm_ms  median of metered proofs on the same warm page and bb instance
//                            (the worker's MeteredSpender: lane choice, the signed state checked under
//                            the on-chain key, witness, proof, the lane journal round trip to the page;
//                            each call is then sent to the server and its signed state settled, not
//                            counted, so every proof after the first folds a real refund; the first
//                            metered proof, which sets up the circuit, not counted)
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
  readMeteredParams,
  readStateKeys,
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
  'function openMetered(uint256 id, uint256 dLane, uint256 lanesLog2, uint256 sLane, uint256 maxTotal) returns (uint256)',
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
    // A metered account of one lane that pays every bench call at its most.
    const km = deriveAccountSecret(0x5eedn, 1);
    const idm = accountId(km);
    const account = privateKeyToAccount(ANVIL_KEYS[3]);
    const client = createPublicClient({ chain: foundry, transport: http(stack.anvil.rpcUrl) });
    const wallet = createWalletClient({ chain: foundry, account, transport: http(stack.anvil.rpcUrl) });
    const { cMax, priceUnit } = await readMeteredParams(client, stack.pool);
    const meteredTerms = { dLane: cMax * (2 + WARM_RUNS), lanesLog2: 0, sLane: cMax };
    for (const [functionName, address, args] of [
      ['mint', stack.token, [account.address, 10n ** 12n]],
      ['approve', stack.token, [stack.pool, 10n ** 12n]],
      ['buy', stack.pool, [creds.map(credentialCommitment), 10n ** 12n]],
      ['openFlat', stack.pool, [id, BigInt(1 + WARM_RUNS), 10n ** 12n]],
      ['openMetered', stack.pool, [idm, BigInt(meteredTerms.dLane), 0n, BigInt(meteredTerms.sLane), 10n ** 12n]],
    ] as const) {
      const hash = await wallet.writeContract({ address, abi, functionName, args: args as never });
      await waitForReceipt(client, { hash });
    }
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${stack.server.url}/v1/zkcredits/leaves?from=0`).then((x) => x.json() as Promise<{ total: number }>);
      if (r.total >= creds.length + 2) break;
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

    // Metered proofs on the same warm worker. The page keeps the account (a small in-memory store
    // applying the lane journal), the chain's C_max and state key come from Node; each call is sent
    // to the real server (not timed) and its signed state settled, so the next proof folds it.
    const mslot = await readAccount(client, stack.pool, idm);
    const keys = await readStateKeys(client, stack.pool);
    const meteredAccount = {
      id: 'c'.repeat(32),
      kind: 'metered',
      accountId: toFieldHex(idm),
      secret: toFieldHex(km),
      index: 1,
      status: 'open',
      chainId: 31337,
      contract: stack.pool,
      ...meteredTerms,
      cMax,
      priceUnit: priceUnit.toString(),
      expiryDay: mslot.expiryDay,
      leafIndex: mslot.leafIndex,
      fromBlock: '0',
      lanes: [{ state: { kind: 'genesis' } }],
      createdAt: Date.now(),
    };
    const meteredMs = await page.evaluate(
      async ({ account, runs, model, cMax, key }) => {
        type Wire<T> = { ok: true; value: T } | { ok: false; error: { message: string } };
        type Call = { nullifier: string; payload: unknown };
        type Hooks = {
          prover(): {
            meteredSpend(req: unknown, context: unknown): Promise<Wire<{ call: Call }>>;
            meteredSettle(nullifier: string, state: unknown, context: unknown): Promise<Wire<unknown>>;
          };
          syncTree(p: unknown): Promise<number>;
        };
        const t = (window as unknown as { __zkcTest: Hooks }).__zkcTest;
        const p = t.prover();
        await t.syncTree(p);
        type Lane = { state: Record<string, unknown>; pending?: { nullifier: string; next: unknown } };
        const record = account as unknown as { lanes: Lane[] };
        // Assigned, not written as object members: tsx would wrap named functions in a `__name`
        // helper the page does not have.
        const store: Record<string, unknown> = {};
        store.listMeteredAccounts = async () => ({ ok: true, value: [record] });
        store.meteredAccount = async () => ({ ok: true, value: record });
        store.journalLane = async (_id: string, lane: number, pending: Lane['pending']) => {
          record.lanes[lane] = { ...record.lanes[lane]!, pending };
          return { ok: true, value: record };
        };
        store.commitLane = async (_id: string, lane: number, _nf: bigint, signed: Record<string, unknown>) => {
          const pending = record.lanes[lane]!.pending!;
          record.lanes[lane] = { state: { kind: 'signed', opening: pending.next, ...signed } };
          return { ok: true, value: { record, committed: true } };
        };
        const context: Record<string, unknown> = { store };
        context.deployment = async () => ({ ok: true, value: { cMax, stateKeys: { current: { x: BigInt(key.x), y: BigInt(key.y) } } } });
        const today = Math.floor(Date.now() / 86_400_000);
        const out: number[] = [];
        for (let i = 0; i <= runs; i++) {
          const body = { model, messages: [{ role: 'user', content: `metered ${i}` }], max_tokens: 8, stream: false };
          const request = { method: 'POST', path: '/v1/chat/completions', body };
          const t0 = performance.now();
          const r = await p.meteredSpend({ account: record, request, today }, context);
          if (!r.ok) throw new Error(r.error.message);
          out.push(performance.now() - t0);
          const res = await fetch('/api/zk/v1/chat/completions', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...body, zkcredits: r.value.call.payload }),
          });
          const answer = (await res.json()) as { zkcredits?: unknown };
          if (!res.ok || !answer.zkcredits) throw new Error(`the server did not take the metered call (HTTP ${res.status})`);
          const settled = await p.meteredSettle(r.value.call.nullifier, answer.zkcredits, context);
          if (!settled.ok) throw new Error(settled.error.message);
        }
        return out.slice(1);
      },
      { account: meteredAccount, runs: WARM_RUNS, model: MODEL, cMax, key: { x: toFieldHex(keys.current.x), y: toFieldHex(keys.current.y) } },
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
      browser_prove_metered_warm_ms: Math.round(median(meteredMs)),
      // Issue 13: at most 6× v1's warm browser proof, measured on the same page and bb instance.
      browser_prove_metered_warm_vs_v1: Math.round((median(meteredMs) / median(warm.map((x) => x.prove))) * 100) / 100,
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
