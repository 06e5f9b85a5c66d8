// One credit, one request: concurrent calls use distinct credits, none twice; a credit spent
// elsewhere (another copy of the store) is marked spent and the call goes on with the next one.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, type SpendProver } from '../src/index.js';
import { nodeProver } from '../src/node.js';
import { MODEL, clientFor, fundedWallet, recordingFetch, startClientStack, type Stack } from './helpers.js';

describe('concurrent paid calls', () => {
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
});
