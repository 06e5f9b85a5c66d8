// The CreditStore contract, for the memory store and the vault store (core's encrypted vault):
// one credit per reservation however many ask at once, only the deployment's unspent credits,
// status changes one way. And the SSE reader the E2EE answer is built on.
import { generateCredential, initPoseidon2 } from '@zkcredits/core';
import { MemoryVaultStorage, Vault } from '@zkcredits/core/vault';
import { beforeAll, describe, expect, it } from 'vitest';
import { pendingRecord } from '../src/records.js';
import { CompletionBuilder, readSse, type SseEvent } from '../src/sse.js';
import { MemoryCreditStore, VaultCreditStore, type CreditRecord, type CreditStore } from '../src/index.js';

const HERE = { chainId: 31337, contract: `0x${'ab'.repeat(20)}` as const };
const ELSEWHERE = { chainId: 8453, contract: HERE.contract };

function records(n: number, deployment = HERE): CreditRecord[] {
  const batch = { id: 'f'.repeat(32), fromBlock: 7n, now: 1_700_000_000_000 };
  return Array.from({ length: n }, (_, i) => ({ ...pendingRecord(generateCredential(), deployment, batch), status: 'unspent' as const, leafIndex: i }));
}

const stores: [string, () => Promise<CreditStore>][] = [
  ['MemoryCreditStore', async () => new MemoryCreditStore()],
  ['VaultCreditStore', async () => new VaultCreditStore(await Vault.create(new MemoryVaultStorage(), 'a long enough passphrase'))],
];

beforeAll(async () => {
  await initPoseidon2();
});

describe.each(stores)('%s', (_name, make) => {
  it('hands each unspent credit of the deployment to one reservation at a time', async () => {
    const store = await make();
    const mine = records(5);
    const other = records(2, ELSEWHERE);
    await store.add([...mine, ...other, { ...records(1)[0]!, status: 'spent' }, { ...records(1)[0]!, archivedAt: 1 }]);
    const got = await Promise.all(Array.from({ length: 8 }, () => store.reserve({ deployment: HERE })));
    const ids = got.filter((r) => r !== undefined).map((r) => r.id);
    expect(ids.sort()).toEqual(mine.map((r) => r.id).sort());
    await store.release(ids[0]!);
    expect((await store.reserve({ deployment: HERE }))?.id).toBe(ids[0]);
    expect(await store.reserve({ deployment: ELSEWHERE, accept: (r) => r.id === other[1]!.id })).toMatchObject({ id: other[1]!.id });
  });

  it('moves status one way and keeps what it was given', async () => {
    const store = await make();
    const [a] = records(1);
    const { leafIndex: _, ...fresh } = a!;
    await store.add([{ ...fresh, status: 'pending' }]);
    expect(await store.update(a!.id, { status: 'unspent', leafIndex: 3 })).toMatchObject({ status: 'unspent', leafIndex: 3, nullifier: a!.nullifier });
    expect(await store.update(a!.id, { status: 'spent', spentAt: 5 })).toMatchObject({ status: 'spent', spentAt: 5 });
    await expect(store.update(a!.id, { status: 'unspent' })).rejects.toMatchObject({ code: 'store_failed' });
    await expect(store.update('0'.repeat(32), { status: 'spent' })).rejects.toMatchObject({ code: 'store_failed' });
    expect((await store.list()).map((r) => r.status)).toEqual(['spent']);
  });
});

describe('readSse', () => {
  const body = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  const all = async (stream: ReadableStream<Uint8Array>) => {
    const out: SseEvent[] = [];
    for await (const e of readSse(stream)) out.push(e);
    return out;
  };

  it('reads events split anywhere, CRLF, comments and multi-line data; stops at [DONE]', async () => {
    const events = await all(body(': keep-alive\r\n\r\ndata: {"a"', ':1}\r\n\r\ndata: x\ndata: y\n\nda', 'ta: [DONE]\n\ndata: after'));
    expect(events).toEqual([{ data: '{"a":1}' }, { data: 'x\ny' }, { done: true }]);
  });

  it('reports a stream cut before [DONE] by ending without it', async () => {
    expect(await all(body('data: 1\n\ndata: 2'))).toEqual([{ data: '1' }, { data: '2' }]);
  });

  it('folds chunks into one completion', () => {
    const b = new CompletionBuilder();
    b.add({ id: 'c1', created: 5, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] });
    b.add({ choices: [{ index: 0, delta: { content: 'Hel', reasoning_content: 'think' } }] });
    b.add({ choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: 'stop' }] });
    b.add({ choices: [], usage: { total_tokens: 3 } });
    expect(b.build('fallback')).toEqual({
      id: 'c1',
      object: 'chat.completion',
      created: 5,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', reasoning_content: 'think' }, logprobs: null, finish_reason: 'stop' }],
      usage: { total_tokens: 3 },
    });
  });
});
