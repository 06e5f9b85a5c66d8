// One credit, one request: concurrent calls use distinct credits, none twice; a credit spent
// elsewhere (another copy of the store) is marked spent and the call goes on with the next one;
// roots the server refuses and credits in use are retried; a tree the chain does not vouch for
// is refused before anything is proven.
import { MerkleTree } from '@zkcredits/core';
import { ERRORS } from '@zkcredits/server';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, type FetchFn, type SpendProver } from '../src/index.js';
import { nodeProver } from '../src/node.js';
import { MODEL, clientFor, fundedWallet, recordingFetch, startClientStack, type Stack } from './helpers.js';

describe('spending credits', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let prover: SpendProver;

  beforeAll(async () => {
    stack = await startClientStack();
    prover = await nodeProver({ backend: 'native' })();
  });
  afterAll(async () => {
    await prover?.destroy?.();
    await stack?.stopAll();
  });

  it('20 concurrent calls use 20 distinct credits, each once; the 21st finds none and sends nothing', async () => {
    const store = new MemoryCreditStore();
    const recorder = recordingFetch();
    const zk = clientFor(stack, prover, { store, fetch: recorder.fetch });
    await zk.buy(20, { walletClient: await fundedWallet(stack, 3), permit: true });
    await stack.waitIndexed(20);
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused', fetch: zk.fetch, maxRetries: 0 });

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `question number ${i}` }], ...(i % 2 ? { stream: false } : {}) }),
      ),
    );
    answers.forEach((a, i) => expect(a.choices[0]!.message.content).toContain(`question number ${i}`));
    expect(recorder.paid).toHaveLength(20);
    expect(recorder.paid.every((p) => p.status === 200)).toBe(true);
    expect(new Set(recorder.paid.map((p) => p.nullifierHash)).size).toBe(20);
    expect(await zk.balance()).toMatchObject({ unspent: 0, spent: 20, pending: 0 });

    const none = openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'one too many' }] });
    await expect(none).rejects.toMatchObject({ status: 402, code: 'no_credits' });
    expect(recorder.paid).toHaveLength(20);
  });

  it('a credit spent by another copy of the store is marked spent and the call proves again with the next credit', async () => {
    const mine = new MemoryCreditStore();
    const zk = clientFor(stack, prover, { store: mine });
    const [first, second] = await zk.buy(2, { walletClient: await fundedWallet(stack, 2) });
    await stack.waitIndexed(22);

    // Another device holding a copy of the first credit spends it.
    const other = clientFor(stack, prover, { store: new MemoryCreditStore([first!]) });
    expect((await other.chat({ model: MODEL, messages: [{ role: 'user', content: 'spent elsewhere' }] })).status).toBe(200);

    const recorder = recordingFetch();
    const again = clientFor(stack, prover, { store: mine, fetch: recorder.fetch });
    const res = await again.chat({ model: MODEL, messages: [{ role: 'user', content: 'my turn' }] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain('my turn');
    expect(recorder.paid.map((p) => p.status)).toEqual([402, 200]);
    const byId = new Map((await mine.list()).map((r) => [r.id, r.status]));
    expect([byId.get(first!.id), byId.get(second!.id)]).toEqual(['spent', 'spent']);
  });

  it('unknown_root is retried after a fresh sync with the same credit; credit_in_use with another credit', async () => {
    const store = new MemoryCreditStore();
    const [a, b] = await clientFor(stack, prover, { store }).buy(2, { walletClient: await fundedWallet(stack, 2) });
    await stack.waitIndexed(24);
    // The first two paid requests are answered by this fetch as the server would (its error catalogue), without reaching it.
    const refusals = (['unknown_root', 'credit_in_use'] as const).map((code) => ({ code, ...ERRORS[code] }));
    const sent: string[] = [];
    // Given as `paidFetch`: it carries the paid requests and nothing else.
    const paidFetch: FetchFn = async (input, init) => {
      if (init?.method !== 'POST' || !String(input).endsWith('/v1/chat/completions')) throw new Error(`not a paid call: ${String(input)}`);
      sent.push((JSON.parse(String(init.body)) as { zkcredits: { nullifier_hash: string } }).zkcredits.nullifier_hash);
      const refusal = refusals.shift();
      if (!refusal) return fetch(input, init);
      return new Response(JSON.stringify({ error: { message: refusal.message, type: refusal.type, code: refusal.code, param: null } }), {
        status: refusal.status,
        headers: { 'content-type': 'application/json', 'retry-after': '1' },
      });
    };
    const zk = clientFor(stack, prover, { store, paidFetch });
    const res = await zk.chat({ model: MODEL, messages: [{ role: 'user', content: 'after two refusals' }], stream: true });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('refusals');
    // unknown_root: the same credit again; credit_in_use: the other one.
    expect(sent).toHaveLength(3);
    expect(sent[1]).toBe(sent[0]);
    expect(sent[2]).not.toBe(sent[1]);
    const statuses = new Map((await store.list()).map((r) => [r.id, r.status]));
    expect([statuses.get(a!.id), statuses.get(b!.id)].sort()).toEqual(['spent', 'unspent']);
  });

  it('a tree the chain does not vouch for (a leaf left out) is refused before anything is proven or sent', async () => {
    const store = new MemoryCreditStore();
    await clientFor(stack, prover, { store }).buy(1, { walletClient: await fundedWallet(stack, 2) });
    await stack.waitIndexed(25);
    let posts = 0;
    // The "server" leaves out leaf 0 (and states the root of what it sends, so the page is consistent).
    const fetchFn: FetchFn = async (input, init) => {
      if (init?.method === 'POST') posts++;
      const res = await fetch(input, init);
      if (!String(input).includes('/v1/zkcredits/leaves')) return res;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const leaves = Array.from({ length: bytes.length / 32 }, (_, i) => BigInt(`0x${Buffer.from(bytes.subarray(i * 32, i * 32 + 32)).toString('hex')}`)).slice(1);
      const tree = MerkleTree.fromLeaves(leaves);
      return new Response(bytes.slice(32), {
        headers: { 'x-zkcredits-from': '0', 'x-zkcredits-total': String(tree.size), 'x-zkcredits-root': `0x${tree.root.toString(16).padStart(64, '0')}` },
      });
    };
    const zk = clientFor(stack, prover, { store, fetch: fetchFn });
    await expect(zk.sync()).rejects.toMatchObject({ code: 'tree_mismatch' });
    const answer = await zk.fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }) });
    expect(answer.status).toBe(502);
    expect(await answer.json()).toMatchObject({ error: { code: 'tree_mismatch' } });
    expect(posts).toBe(0);
    expect(await zk.balance()).toMatchObject({ unspent: 1, spent: 0 });
  });
});
