// Protocol v2 metered calls end to end: real Anvil + CreditPool with a pinned state key, real
// metered proofs (core's buildMeteredWitness, as a client), the real server (SQLite), the Venice
// simulator. Every call on one lane proves from the state the server signed for the one before;
// each refund is exactly C_max − cost, the cost computed from the usage the client received and the
// published prices; failures refund everything; a violation costs a capped penalty, logged publicly.
import { createHash } from 'node:crypto';
import { createE2eeSession } from '@zkcredits/attest';
import {
  METERED_VK_SHA256,
  creditPoolAbi,
  generateStateSecret,
  meteredNullifier,
  stateMessage,
  statePublicKey,
  toFieldHex,
  verifyStateSignature,
  waitForReceipt,
  type SignedStateWire,
} from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountStatus, SLASHER_KEY } from './helpers/accounts.js';
import { startTestChain, type TestChain } from './helpers/chain.js';
import { expectedCost, openMeteredAccounts, sseEvents, TestLane, type MeteredTestAccount, type ProvedCall } from './helpers/metered.js';
import { chatBody, E2EE_MODEL, errorOf, meteredEnv, MODEL, MODEL_PRICES, startStack, type Stack } from './helpers/stack.js';

const POLICY = [{ reason: 'forbidden_demo', pattern: 'forbidden\\s+topic', penalty: 999_999 }];
const MAX_PENALTY = 20_000;

type Usage = { prompt_tokens: number; completion_tokens: number };
type ChatJson = { choices: { message: { content: string } }[]; usage: Usage; zkcredits: SignedStateWire };

async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(async () => {
  await chain?.stop();
});

describe('v2 metered calls (SQLite)', () => {
  let s: Stack;
  let account: MeteredTestAccount;
  let lane: TestLane;
  let cMax: number;
  const costs: number[] = [];
  const states: SignedStateWire[] = [];
  /** A call the lane made and was answered, kept for the same-request retry. */
  let answered: { call: ProvedCall; body: object; headers: Record<string, string> } | undefined;

  beforeAll(async () => {
    cMax = chain.cMax;
    s = await startStack('sqlite', {
      chain,
      env: { ...meteredEnv(chain), ZKC_POLICY_RULES: JSON.stringify(POLICY), ZKC_POLICY_MAX_PENALTY: String(MAX_PENALTY), ZKC_SLASHER_KEY: SLASHER_KEY },
    });
    account = (await openMeteredAccounts(chain, s.tree, [{ dLane: 20 * cMax, lanesLog2: 0, sLane: 100_000 }]))[0]!;
    await s.waitIndexed(s.tree.size);
    lane = new TestLane(account, 0, s);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = (body: object, call: ProvedCall, headers: Record<string, string> = {}) => s.post({ ...body, zkcredits: call.payload }, headers);
  const getState = (nf: bigint | string) => fetch(`${s.url}/v2/zkcredits/state/${typeof nf === 'string' ? nf : toFieldHex(nf)}`);
  const forwarded = () => s.sim.state.lastRequest!.body as Record<string, unknown>;

  it('publishes the metered terms at GET /v2/zkcredits/config: C_max, the price unit and state key from the chain, the prices and the policy', async () => {
    const res = await fetch(`${s.url}/v2/zkcredits/config`);
    expect(res.status).toBe(200);
    const config = (await res.json()) as { kinds: string[]; metered: unknown };
    expect(config.kinds).toEqual(['flat', 'metered']);
    expect(config.metered).toEqual({
      price_unit: chain.priceUnit.toString(),
      c_max: cMax,
      lanes_max: 8,
      state_key: { x: toFieldHex(chain.stateKey.x), y: toFieldHex(chain.stateKey.y) },
      prices: MODEL_PRICES,
      max_penalty: MAX_PENALTY,
      policy_reasons: ['forbidden_demo'],
      verification_key_sha256: METERED_VK_SHA256,
    });
  });

  it('charges a JSON call and two streamed calls (one E2EE) exactly what their usage costs, with states that verify on-chain and chain from one call to the next', async () => {
    // 1. JSON: the state is the answer's top-level zkcredits member.
    const body1 = chatBody('a short question', { max_tokens: 40 });
    const call1 = await lane.prove(body1);
    const res1 = await post(body1, call1);
    expect(res1.status).toBe(200);
    const json = (await res1.json()) as ChatJson;
    expect(json.choices[0]!.message.content).toContain('a short question');
    // The provider was asked for at most what C_max pays for, the client's lower cap kept.
    expect(forwarded()).toMatchObject({ max_completion_tokens: 40 });
    expect(forwarded()).not.toHaveProperty('max_tokens');
    const cost1 = expectedCost(MODEL_PRICES[MODEL], json.usage, cMax);
    const st1 = await lane.accept(call1, json.zkcredits);
    expect(st1).toMatchObject({ r: cMax - cost1, p: 0 });
    costs.push(cost1);
    states.push(json.zkcredits);

    // 2. SSE, end-to-end encrypted: the usage stays plaintext; the policy never reads ciphertext.
    const session = createE2eeSession(s.sim.enclavePublicKeyHex(E2EE_MODEL));
    const body2 = {
      model: E2EE_MODEL,
      stream: true,
      messages: session.encryptMessages([{ role: 'user', content: 'an encrypted question about a forbidden topic with many more words in it than the first one' }]),
    };
    const headers2 = session.headers();
    const call2 = await lane.prove(body2, { headers: headers2 });
    const res2 = await post(body2, call2, headers2);
    expect(res2.status).toBe(200);
    const events2 = sseEvents(await res2.text());
    const usage2 = JSON.parse(events2.find((e) => e.data.includes('"usage":{'))!.data).usage as Usage;
    expect(events2.slice(-2).map((e) => e.type)).toEqual(['zkcredits.state', '']);
    expect(events2.at(-1)!.data).toBe('[DONE]');
    const wire2 = JSON.parse(events2.at(-2)!.data) as SignedStateWire;
    const cost2 = expectedCost(MODEL_PRICES[E2EE_MODEL], usage2, cMax);
    expect(await lane.accept(call2, wire2)).toMatchObject({ r: cMax - cost2, p: 0 });
    expect(forwarded()).toMatchObject({ stream_options: { include_usage: true } });
    costs.push(cost2);
    states.push(wire2);

    // 3. SSE without include_usage: the usage chunk is relayed all the same (it prices the call).
    const body3 = chatBody('a third question, streamed, with a different number of words than the others', { stream: true, max_tokens: 64 });
    const call3 = await lane.prove(body3);
    const res3 = await post(body3, call3);
    const events3 = sseEvents(await res3.text());
    const usage3 = JSON.parse(events3.find((e) => e.data.includes('"usage":{'))!.data).usage as Usage;
    const wire3 = JSON.parse(events3.find((e) => e.type === 'zkcredits.state')!.data) as SignedStateWire;
    const cost3 = expectedCost(MODEL_PRICES[MODEL], usage3, cMax);
    expect(await lane.accept(call3, wire3)).toMatchObject({ r: cMax - cost3, p: 0 });
    costs.push(cost3);
    states.push(wire3);
    answered = { call: call3, body: body3, headers: {} };

    expect(new Set(costs).size).toBe(3);
    expect(costs.every((c) => c > 0 && c < cMax)).toBe(true);
    // After k calls the lane holds the deposit minus what the calls really cost.
    expect(lane.standing).toMatchObject({ n: 3, balance: account.terms.dLane - costs.reduce((a, b) => a + b, 0), penalties: 0 });
  });

  it('answers a retry of the same request with ticket_reused and the stored state, and serves each state at GET /v2/zkcredits/state/{nullifier}', async () => {
    const { call, body } = answered!;
    const before = s.sim.state.chatRequestCount;
    const res = await post(body, call);
    const json = (await res.json()) as { error: { code: string }; zkcredits: SignedStateWire };
    expect(res.status).toBe(409);
    expect(json.error.code).toBe('ticket_reused');
    expect(json.zkcredits).toEqual(states[2]);
    expect(s.sim.state.chatRequestCount).toBe(before);

    for (const wire of states) {
      const got = await getState(wire.nullifier);
      expect(got.status).toBe(200);
      expect(got.headers.get('cache-control')).toBe('no-store');
      expect(await got.json()).toEqual(wire);
    }
    expect(await errorOf(await getState(toFieldHex(12345n)))).toMatchObject({ status: 404, code: 'unknown_nullifier' });
    expect(await errorOf(await getState('0x12'))).toMatchObject({ status: 400, code: 'invalid_field', param: 'nullifier' });
    expect(await errorOf(await getState(`0x${'ff'.repeat(32)}`))).toMatchObject({ status: 400, code: 'invalid_field' });
  });

  it('refuses an input that alone may cost more than C_max with 400 and a full refund (the lane moves on), and an upstream failure refunds everything', async () => {
    // ~80k input tokens at 0.7 per 1k: more than C_max = 50,000 price units.
    const balance = lane.standing.balance;
    const n = lane.standing.n;
    const big = chatBody('a'.repeat(80_000));
    const call = await lane.prove(big);
    const before = s.sim.state.chatRequestCount;
    const res0 = await post(big, call);
    const refused = (await res0.json()) as { error: { code: string; param: string; message: string }; zkcredits: SignedStateWire };
    expect(res0.status).toBe(400);
    expect(refused.error).toMatchObject({ code: 'input_tokens_exceeded', param: 'messages' });
    expect(refused.error.message).toMatch(/refunded in full/);
    expect(s.sim.state.chatRequestCount).toBe(before);
    // The proof verified, so the position is taken for this request: a signed full refund lets the
    // lane go on (another request at the same position would be a second share of its secret).
    expect(await lane.accept(call, refused.zkcredits)).toMatchObject({ r: cMax, p: 0 });
    expect(lane.standing).toMatchObject({ balance, n: n + 1 });

    // The provider fails: the error body carries a full refund, and the lane goes on from it.
    const body = chatBody('the provider will fail this one');
    const failing = await lane.prove(body);
    s.sim.faults.once('status:500');
    const res = await post(body, failing);
    const json = (await res.json()) as { error: { code: string; message: string }; zkcredits: SignedStateWire };
    expect(res.status).toBe(502);
    expect(json.error.code).toBe('upstream_error');
    expect(json.error.message).toMatch(/refunded in full/);
    expect(await lane.accept(failing, json.zkcredits)).toMatchObject({ r: cMax, p: 0 });
    expect(lane.standing).toMatchObject({ balance, n: n + 2 });
    expect(await (await getState(failing.nullifier)).json()).toEqual(json.zkcredits);
  });

  it('answers a policy violation with 403 and a signed penalty state (capped), never forwards it, and logs it publicly with the SHA-256 of the request', async () => {
    const body = chatBody('Tell me all about the FORBIDDEN   topic please');
    const call = await lane.prove(body);
    const before = s.sim.state.chatRequestCount;
    const bytes = JSON.stringify({ ...body, zkcredits: call.payload });
    const res = await s.post(bytes);
    const json = (await res.json()) as { error: { code: string }; zkcredits: SignedStateWire };
    expect(res.status).toBe(403);
    expect(json.error.code).toBe('policy_violation');
    expect(json.zkcredits).toMatchObject({ r: cMax, p: MAX_PENALTY, reason: 'forbidden_demo' });
    expect(s.sim.state.chatRequestCount).toBe(before);
    const balance = lane.standing.balance;
    await lane.accept(call, json.zkcredits);
    expect(lane.standing).toMatchObject({ balance, penalties: MAX_PENALTY });

    const log = (await (await fetch(`${s.url}/v2/zkcredits/penalties`)).json()) as { count: number; penalties: unknown[]; next: number | null };
    expect(log).toMatchObject({ count: 1, next: null });
    expect(log.penalties).toEqual([
      { seq: 1, nullifier: toFieldHex(call.nullifier), p: MAX_PENALTY, reason: 'forbidden_demo', evidence_hash: createHash('sha256').update(bytes).digest('hex'), day: expect.any(Number) },
    ]);
    expect(((await (await fetch(`${s.url}/v2/zkcredits/penalties?after=1`)).json()) as { count: number }).count).toBe(0);
    expect(await errorOf(await fetch(`${s.url}/v2/zkcredits/penalties?after=x`))).toMatchObject({ status: 400, code: 'invalid_request', param: 'after' });
  });

  it('says state_pending while a call is held (GET state and a retry), then serves its state; another request on that ticket revokes the account', async () => {
    const prior = lane.state;
    const body = chatBody('held until the test lets it go', { stream: true });
    const call = await lane.prove(body);
    s.sim.faults.once('stall-after:2');
    const answer = post(body, call).then(async (r) => ({ status: r.status, text: await r.text() }));
    await s.sim.faults.whenStalled(1);

    const pending = await getState(call.nullifier);
    expect(pending.headers.get('retry-after')).toBe('1');
    expect(await errorOf(pending)).toMatchObject({ status: 409, code: 'state_pending' });
    const retry = await post(body, call);
    expect(await errorOf(retry)).toMatchObject({ status: 409, code: 'state_pending' });

    s.sim.faults.release();
    const { status, text } = await answer;
    expect(status).toBe(200);
    const wire = JSON.parse(sseEvents(text).find((e) => e.type === 'zkcredits.state')!.data) as SignedStateWire;
    expect(await (await getState(call.nullifier)).json()).toEqual(wire);
    const st = await lane.accept(call, wire);
    expect(st.r).toBeLessThan(cMax);

    // The same lane position for another request: two shares of one ticket reveal the account
    // secret. The account is revoked (its next positions refused) and slashed on-chain.
    const other = chatBody('another request on a used lane position');
    const twice = await lane.prove(other, { from: prior });
    expect(twice.nullifier).toBe(call.nullifier);
    const before = s.sim.state.chatRequestCount;
    expect(await errorOf(await post(other, twice))).toMatchObject({ status: 403, code: 'account_revoked', param: 'zkcredits.nullifier' });
    expect(s.sim.state.chatRequestCount).toBe(before);
    // The lane's next positions (the holder has their states) and every other lane's genesis.
    for (const n of [lane.standing.n, lane.standing.n + 1023]) expect((await s.server.store.lookupTicket(meteredNullifier(account.k, 0, n))).revoked).toBe(true);
    for (const l of [1, 7]) expect((await s.server.store.lookupTicket(meteredNullifier(account.k, l, 0))).revoked).toBe(true);
    await waitFor(() => accountStatus(chain, account.id), (v) => v === 2, 'the metered account to be slashed');
  });

  it('counts signed states by outcome and times signing; logs hold no prompt, state signature or secret', async () => {
    const metrics = await s.server.app.metrics.registry.getMetricsAsJSON();
    const byOutcome = metrics.find((m) => m.name === 'zkc_metered_states_total')!.values;
    const count = (outcome: string) => byOutcome.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    expect([count('charged'), count('refunded'), count('penalty')]).toEqual([4, 2, 1]);
    const signed = metrics.find((m) => m.name === 'zkc_state_sign_seconds')!.values.find((v) => (v as { metricName?: string }).metricName === 'zkc_state_sign_seconds_count');
    expect(signed?.value).toBe(7);

    const logs = s.logs.text;
    const secrets = ['a short question', 'FORBIDDEN   topic', 'held until the test', account.k.toString(16), chain.stateSecret!.toString(16)];
    for (const wire of states) secrets.push(wire.sig.s.slice(2), wire.sig.rx.slice(2));
    for (const secret of secrets) expect(logs.toLowerCase()).not.toContain(secret.toLowerCase());
  });

  it('refunds in full the calls a replica abandoned once they are older than the reservation TTL, and a start-up recovers only its own', async () => {
    const { store, app } = s.server;
    const ttl = s.config.reservationTtlMs;
    const cm = 0xc0ffeen;
    await store.reserveMetered({ nullifier: 0xabc1n, x: 1n, y: 2n, cmNew: cm, cMax, replica: 'gone' }, Date.now() - ttl - 1000);
    await store.reserveMetered({ nullifier: 0xabc2n, x: 1n, y: 2n, cmNew: cm, cMax, replica: 'gone' }, Date.now());
    expect(await app.metered.recover()).toBe(0);
    expect(await app.metered.sweep()).toBe(1);
    const swept = (await (await getState(0xabc1n)).json()) as SignedStateWire;
    expect(swept).toMatchObject({ r: cMax, p: 0 });
    expect(verifyStateSignature(chain.stateKey, stateMessage(cm, cMax, 0), { rx: BigInt(swept.sig.rx), ry: BigInt(swept.sig.ry), s: BigInt(swept.sig.s) })).toBe(true);
    expect(await errorOf(await getState(0xabc2n))).toMatchObject({ status: 409, code: 'state_pending' });
  });
});

describe('v2 metered calls across a state key rotation', () => {
  it('refuses metered calls once the chain pins another key (state_key_mismatch), and a server with the new key accepts proofs from states signed under the previous one during its grace', async () => {
    const a = await startStack('sqlite', { chain, env: meteredEnv(chain) });
    let aRunning = true;
    let b: Stack | undefined;
    try {
      // The chain already holds the first suite's leaves: the client's mirror starts from them.
      a.tree.insertMany(a.server.indexer.tree.leaves(0));
      const [account] = await openMeteredAccounts(chain, a.tree, [{ dLane: 5 * chain.cMax, lanesLog2: 0, sLane: 10 }]);
      await a.waitIndexed(a.tree.size);
      const lane = new TestLane(account!, 0, a);
      const body1 = chatBody('signed under the first key');
      const call1 = await lane.prove(body1);
      const res1 = await a.post({ ...body1, zkcredits: call1.payload });
      expect(res1.status).toBe(200);
      await lane.accept(call1, ((await res1.json()) as ChatJson).zkcredits);
      const oldKey = chain.stateKey;

      // The owner rotates the key: proposed, then activated once the timelock passed.
      const owner = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[0]), transport: http(chain.rpcUrl), pollingInterval: 50 });
      const secret = generateStateSecret();
      const key = statePublicKey(secret);
      const delay = Number(await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'stateKeyDelay' }));
      await waitForReceipt(chain.client, { hash: await owner.writeContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'proposeStateKey', args: [key.x, key.y] }) });
      await chain.increaseTime(delay + 1);
      await waitForReceipt(chain.client, { hash: await owner.writeContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'activateStateKey' }) });

      // The old server sees it within a poll and fails closed.
      const config = async () => ((await (await fetch(`${a.url}/v2/zkcredits/config`)).json()) as { kinds: string[]; metered: { state_key: unknown } }).metered;
      await waitFor(config, (m) => m.state_key === null, 'the server to see the rotation');
      const body2 = chatBody('after the rotation');
      const refused = await a.post({ ...body2, zkcredits: call1.payload });
      expect(await errorOf(refused)).toMatchObject({ status: 503, code: 'state_key_mismatch' });
      expect(a.logs.text).toContain('ZKC_STATE_KEY is not the state key the CreditPool pins');

      // The operator restarts with the new secret: the lane's state, signed under the old key, still pays.
      await a.server.stop();
      aRunning = false;
      b = await startStack('sqlite', { chain, stores: a.stores, pools: a.pools, env: { ...meteredEnv(chain), ZKC_STATE_KEY: `0x${secret.toString(16).padStart(64, '0')}` } });
      const call2 = await lane.prove(body2, { stateKey: oldKey });
      const res2 = await b.post({ ...body2, zkcredits: call2.payload });
      expect(res2.status).toBe(200);
      // The new state is signed under the new key, the one the chain now pins.
      expect((await lane.accept(call2, ((await res2.json()) as ChatJson).zkcredits)).r).toBeLessThan(chain.cMax);
    } finally {
      if (aRunning) await a.server.stop();
      await b?.server.stop();
      await b?.sim.close();
      await a.sim.close();
      await a.pools.destroy();
      await a.stores.cleanup();
    }
  });
});
