// Protocol v2 metered accounts through the SDK on the real stack (Anvil + CreditPool with a pinned
// state key, the server with a published price table, venice-sim, real proofs), every byte the
// server receives recorded by a TCP proxy in front of it:
// - k calls, streamed and not: the caller never sees the state (no `zkcredits` member, no
//   `zkcredits.state` event), and the balance is the deposit minus the exact costs computed from the
//   usage in the answers and the published prices;
// - unlinkability: nothing the server produced in call n (r, p, the signature in hex and decimal,
//   the state JSON, the answer's ids) is anywhere in the bytes of any later call, nor is call n's
//   cm_new;
// - a lost answer (and then a crash) leaves the lane pending: before the lane is used again its
//   state is fetched with GET /v2/zkcredits/state for exactly that call.
import { creditPoolAbi, stateCommitment, toFieldHex, type MeteredAccountRecord } from '@zkcredits/core';
import { MemoryVaultStorage, Vault, type StoredLaneState } from '@zkcredits/core/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, VaultCreditStore, type CreditStore, type FetchFn, type ZkCreditsClient } from '../src/index.js';
import { nodeProvers } from '../src/node.js';
import { MODEL, MODEL_PRICES, clientFor, fundedWallet, startClientStack, type Stack } from './helpers.js';
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.js';

const PASS = 'correct horse battery';
/** The dev account that pays the openings (this file has its own stack). */
const PAYER = 2;
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
/** The server's one policy rule in this file: a message with "xyzzy" costs this penalty (price units). */
const PENALTY = 700;

type Usage = { prompt_tokens: number; completion_tokens: number };

/** The exact cost from the usage and the published price: `min(C_max, ceil((prompt·in + completion·out) / 1e6))`. */
function costOf(usage: Usage, price: { input: number; output: number }, cMax: number): number {
  const raw = (BigInt(usage.prompt_tokens) * BigInt(price.input) + BigInt(usage.completion_tokens) * BigInt(price.output) + 999_999n) / 1_000_000n;
  return Number(raw < BigInt(cMax) ? raw : BigInt(cMax));
}

/** The answer as the caller reads it: its text, usage and ids; asserts no state reached the caller. */
async function readAnswer(res: Response, stream: boolean): Promise<{ content: string; usage: Usage; ids: string[] }> {
  const text = await res.text();
  expect(text).not.toContain('zkcredits');
  if (!stream) {
    const json = JSON.parse(text) as { id: string; choices: { message: { content: string } }[]; usage: Usage };
    return { content: json.choices[0]!.message.content, usage: json.usage, ids: [json.id] };
  }
  const chunks = text
    .split(/\n\n/)
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => JSON.parse(e.slice(6)) as { id?: string; choices?: { delta?: { content?: string } }[]; usage?: Usage });
  expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  const usage = chunks.find((c) => c.usage)?.usage;
  expect(usage).toBeDefined();
  return { content: chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), usage: usage!, ids: [...new Set(chunks.map((c) => c.id).filter((id): id is string => !!id))] };
}

/** Each lane's state as a string, to see which lane a call moved. */
const laneKeys = (r: MeteredAccountRecord) => r.lanes.map((l) => JSON.stringify(l));

describe('metered accounts through the SDK (real stack, every byte recorded)', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let proxy: RecordingProxy;
  const provers = nodeProvers({ backend: 'native' });
  const clients: ZkCreditsClient[] = [];
  let prices: Record<string, { input: number; output: number }>;

  const leafCount = async () => Number(await stack.chain.client.readContract({ address: stack.chain.pool, abi: creditPoolAbi, functionName: 'nextIndex' }));
  const indexed = async () => stack.waitIndexed(await leafCount());
  const client = (store: CreditStore, paidFetch?: FetchFn) => {
    const zk = clientFor(stack, undefined as never, { server: proxy.url, store, prover: provers.prover, meteredProver: provers.meteredProver, ...(paidFetch ? { paidFetch } : {}) });
    clients.push(zk);
    return zk;
  };
  const chatBody = (content: string, stream: boolean) => ({ model: MODEL, messages: [{ role: 'user', content }], stream });

  beforeAll(async () => {
    stack = await startClientStack({ metered: true, env: { ZKC_POLICY_RULES: JSON.stringify([{ reason: 'forbidden_word', pattern: 'xyzzy', penalty: PENALTY }]) } });
    proxy = await startRecordingProxy(stack.url);
    const config = (await (await fetch(`${stack.url}/v2/zkcredits/config`)).json()) as { metered: { c_max: number; price_unit: string; prices: Record<string, { input: number; output: number }> } };
    expect(config.metered).toMatchObject({ c_max: stack.chain.cMax, price_unit: stack.chain.priceUnit.toString() });
    prices = config.metered.prices;
    expect(prices[MODEL]).toEqual(MODEL_PRICES[MODEL]);
  });
  afterAll(async () => {
    for (const zk of clients) await zk.close();
    await proxy?.close();
    await stack?.stopAll();
  });

  it('k calls, streamed and not: the caller never sees the state, the balance is the deposit minus the costs from usage and published prices, and no later call carries anything the server produced', async () => {
    const store = new MemoryCreditStore();
    const zk = client(store);
    const { cMax, priceUnit } = stack.chain;
    const dLane = 3 * cMax;
    const opened = await zk.openMetered({ walletClient: await fundedWallet(stack, PAYER), lanes: 2, depositPerLane: BigInt(dLane) * priceUnit, stakePerLane: 1_000n * priceUnit });
    expect(opened).toMatchObject({ status: 'open', dLane, sLane: 1_000, lanesLog2: 1, cMax });
    await indexed();
    expect(await zk.meteredAccounts()).toEqual([expect.objectContaining({ priceUnits: 2 * dLane, money: BigInt(2 * dLane) * priceUnit, callsAtCmax: 6, pending: 0 })]);

    const k = BigInt(opened.secret);
    type Produced = { from: { received: number }; tokens: string[]; smallNumbers: number[]; cmNew: string };
    const calls: Produced[] = [];
    let spent = 0;
    for (const [i, word] of WORDS.slice(0, 4).entries()) {
      const stream = i % 2 === 1;
      const before = laneKeys((await store.listMeteredAccounts())[0]!);
      const mark = proxy.mark();
      const res = await zk.chat(chatBody(`metered call ${word}`, stream));
      expect(res.status).toBe(200);
      const answer = await readAnswer(res, stream);
      expect(answer.content).toContain(`metered call ${word}`);
      const cost = costOf(answer.usage, prices[MODEL]!, cMax);
      expect(cost).toBeGreaterThan(0);
      spent += cost;

      // What the server produced for this call, as the lane now holds it.
      const record = (await store.listMeteredAccounts())[0]!;
      const moved = laneKeys(record).findIndex((key, lane) => key !== before[lane]);
      const state = record.lanes[moved]!.state as Extract<StoredLaneState, { kind: 'signed' }>;
      expect(state.r).toBe(cMax - cost);
      expect(record.lanes[moved]!.pending).toBeUndefined();
      const sig = [state.sig.rx, state.sig.ry, state.sig.s];
      const cmNew = toFieldHex(stateCommitment(k, { ...state.opening, salt: BigInt(state.opening.salt) }));
      const sentText = proxy.sent().subarray(mark.sent).toString('latin1');
      const requestIds = [...sentText.matchAll(/^x-request-id:\s*(\S+)/gim)].map((m) => m[1]!);
      const stateJson = JSON.stringify({ v: 2, kind: 'metered_state', nullifier: '', r: state.r, p: state.p, sig: { rx: state.sig.rx, ry: state.sig.ry, s: state.sig.s } }).split('"nullifier":""')[1]!;
      calls.push({
        from: mark,
        tokens: [...sig.map((h) => h.slice(2)), ...sig.map((h) => BigInt(h).toString()), toFieldHex(BigInt(state.r)).slice(2), stateJson, ...answer.ids, ...requestIds],
        smallNumbers: [state.r, ...(state.p > 0 ? [state.p] : [])],
        cmNew: cmNew.slice(2),
      });
      // This call's own request was a metered one and carried its cm_new (and nothing of the calls before it: checked below).
      const own = proxy.received().subarray(mark.received).toString('latin1');
      expect(own).toContain('"kind":"metered"');
      expect(own.toLowerCase()).toContain(cmNew.slice(2));
      expect(proxy.sent().subarray(mark.sent).toString('latin1')).toContain(stream ? 'event: zkcredits.state' : '"zkcredits":{');
    }

    const [balance] = await zk.meteredAccounts();
    expect(balance).toMatchObject({ priceUnits: 2 * dLane - spent, money: BigInt(2 * dLane - spent) * priceUnit, pending: 0, penalties: 0 });

    // Unlinkability: search every byte the server received after call n for what it produced in call n.
    const received = proxy.received();
    for (const [n, call] of calls.entries()) {
      for (const later of calls.slice(n + 1)) {
        const bytes = received.subarray(later.from.received).toString('latin1');
        const lower = bytes.toLowerCase();
        for (const token of [...call.tokens, call.cmNew]) expect(lower.includes(token.toLowerCase()), `call ${n}'s ${token.slice(0, 12)}… in a later call`).toBe(false);
        // Small amounts as whole numbers anywhere outside the proofs' base64.
        const text = bytes.replace(/"proof":"[A-Za-z0-9+/=]*"/g, '""');
        for (const v of call.smallNumbers) expect(new RegExp(`(?<![0-9])${v}(?![0-9])`).test(text), `call ${n}'s amount ${v} in a later call`).toBe(false);
      }
    }
    expect(calls).toHaveLength(4);
  });

  it('a lost answer leaves its lane pending; after a crash the lane asks GET /v2/zkcredits/state for exactly that call before it is used again', async () => {
    const storage = new MemoryVaultStorage();
    const vault = await Vault.create(storage, PASS);
    let lose = true;
    // The server answers the first paid call; the answer never reaches the client.
    const losing: FetchFn = async (input, init) => {
      const res = await fetch(input, init);
      if (lose && init?.method === 'POST') {
        lose = false;
        await res.arrayBuffer();
        throw new TypeError('fetch failed (connection reset)');
      }
      return res;
    };
    const zk = client(new VaultCreditStore(vault), losing);
    const { cMax, priceUnit } = stack.chain;
    const opened = await zk.openMetered({ walletClient: await fundedWallet(stack, PAYER), lanes: 1, depositPerLane: BigInt(2 * cMax) * priceUnit, stakePerLane: priceUnit });
    await indexed();

    await expect(zk.chat(chatBody('metered call lost on the way back', false))).rejects.toMatchObject({ code: 'server_unavailable' });
    const pending = vault.getMeteredAccount(opened.id)!.lanes[0]!.pending!;
    expect(pending).toBeDefined();
    expect(await zk.meteredAccounts()).toEqual([expect.objectContaining({ pending: 1, priceUnits: cMax, callsAtCmax: 1 })]);
    vault.lock(); // the process ends

    const reopened = await Vault.unlock(storage, PASS);
    expect(reopened.getMeteredAccount(opened.id)!.lanes[0]!.pending).toEqual(pending);
    const again = client(new VaultCreditStore(reopened));
    const mark = proxy.mark();
    const res = await again.chat(chatBody('metered call after the crash', false));
    const answer = await readAnswer(res, false);
    expect(answer.content).toContain('after the crash');

    // One state question, for the pending call only, before the next call on the lane.
    const sentBytes = proxy.received().subarray(mark.received).toString('latin1');
    const questions = [...sentBytes.matchAll(/GET \/v2\/zkcredits\/state\/(0x[0-9a-f]{64}) HTTP/g)].map((m) => m[1]);
    expect(questions).toEqual([pending.nullifier]);
    expect(sentBytes.indexOf('GET /v2/zkcredits/state/')).toBeLessThan(sentBytes.indexOf('POST /v1/chat/completions'));
    const lane = reopened.getMeteredAccount(opened.id)!.lanes[0]!;
    expect(lane.pending).toBeUndefined();
    expect(lane.state).toMatchObject({ kind: 'signed', opening: { n: 2 } });
    // Both calls are charged what they cost: the lost one's refund came back through the state question.
    const [balance] = await again.meteredAccounts();
    const lastCost = costOf(answer.usage, prices[MODEL]!, cMax);
    const lostCost = 2 * cMax - lastCost - balance!.priceUnits;
    expect(lostCost).toBeGreaterThan(0);
    expect(lostCost).toBeLessThan(cMax);
  });

  it('3 streamed chats at once on 2 lanes: at most 2 in flight, the third waits for a lane and all are answered; a policy violation is settled with its penalty', async () => {
    let inFlight = 0;
    let most = 0;
    const counting: FetchFn = async (input, init) => {
      const paid = init?.method === 'POST';
      if (paid) most = Math.max(most, ++inFlight);
      try {
        return await fetch(input, init);
      } finally {
        if (paid) inFlight--;
      }
    };
    const store = new MemoryCreditStore();
    const zk = client(store, counting);
    const { cMax, priceUnit } = stack.chain;
    await zk.openMetered({ walletClient: await fundedWallet(stack, PAYER), lanes: 2, deposit: BigInt(10 * cMax) * priceUnit, stake: BigInt(4 * PENALTY) * priceUnit }); // 2 × PENALTY per lane: one penalty does not freeze it
    await indexed();
    // fetch resolves on the headers; a lane stays held until its stream's state event is read.
    const answers = await Promise.all(['one', 'two', 'three'].map(async (w) => readAnswer(await zk.chat(chatBody(`concurrent ${w}`, true)), true)));
    expect(answers.map((a) => a.content)).toEqual(['concurrent one', 'concurrent two', 'concurrent three'].map((t) => expect.stringContaining(t)));
    expect(most).toBeLessThanOrEqual(2);
    const record = (await store.listMeteredAccounts())[0]!;
    expect(record.lanes.map((l) => (l.state.kind === 'signed' ? l.state.opening.n : 0)).sort()).toEqual([1, 2]);
    const spent = answers.reduce((sum, a) => sum + costOf(a.usage, prices[MODEL]!, cMax), 0);
    expect((await zk.meteredAccounts())[0]).toMatchObject({ priceUnits: 10 * cMax - spent, pending: 0 });

    // A violation: no answer, a state with r = C_max (nothing charged) and p = the penalty.
    const refused = await zk.chat(chatBody('please say xyzzy', false)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'server_rejected', serverCode: 'policy_violation', status: 403 });
    const after = (await zk.meteredAccounts())[0]!;
    expect(after).toMatchObject({ priceUnits: 10 * cMax - spent, penalties: PENALTY, pending: 0, frozenLanes: 0 });
    // The lane goes on: the next call is answered.
    expect((await readAnswer(await zk.chat(chatBody('after the penalty', false)), false)).content).toContain('after the penalty');
  });

  it('a backup restored after its lane moved on elsewhere: recovery marks the lane stale (from the records or the master alone), and it never pays', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    await vault.masterSecret();
    const masterOnly = vault.exportBackup();
    const zk = client(new VaultCreditStore(vault));
    const { cMax, priceUnit } = stack.chain;
    const opened = await zk.openMetered({ walletClient: await fundedWallet(stack, PAYER), lanes: 1, depositPerLane: BigInt(3 * cMax) * priceUnit, stakePerLane: priceUnit });
    await indexed();
    const withRecords = vault.exportBackup();
    await readAnswer(await zk.chat(chatBody('the lane moves on after the backup', false)), false);

    for (const backup of [withRecords, masterOnly]) {
      const restored = await Vault.restore(new MemoryVaultStorage(), backup, PASS);
      const copy = client(new VaultCreditStore(restored));
      if (backup === withRecords) {
        // Not recovered yet: it pays nothing (no flat account, no credit either).
        expect(await copy.meteredAccounts()).toEqual([expect.objectContaining({ recoveryNeeded: true, callsAtCmax: 0 })]);
        await expect(copy.chat(chatBody('too early', false))).rejects.toMatchObject({ code: 'no_credits' });
      }
      const found = await copy.recoverMetered();
      expect(found).toEqual([expect.objectContaining({ accountId: opened.accountId, status: 'open', lanes: 1, staleLanes: 1, found: backup === withRecords ? 'store' : 'chain' })]);
      expect(await copy.meteredAccounts()).toEqual([expect.objectContaining({ recoveryNeeded: false, staleLanes: 1, callsAtCmax: 0, priceUnits: 0 })]);
      const mark = proxy.mark();
      await expect(copy.chat(chatBody('never on a stale lane', false))).rejects.toMatchObject({ code: 'no_credits' });
      expect(proxy.received().subarray(mark.received).toString('latin1')).not.toContain('POST /v1/chat/completions');
    }
  });
});
