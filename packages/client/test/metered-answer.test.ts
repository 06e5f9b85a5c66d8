// The signed state taken out of metered answers before the caller sees them: the JSON member, and the
// SSE event however the bytes are split; settled before the `[DONE]` is passed on, settled even when
// the caller stops reading, released when the answer carries none, and a refused state errors the
// stream. Both client stores keep metered records and their lane journal.
import { accountId, deriveAccountSecret, initPoseidon2, toFieldHex, type MeteredAccountRecord } from '@zkcredits/core';
import { MemoryVaultStorage, Vault, genesisLanes, lanePendingEntry } from '@zkcredits/core/vault';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, VaultCreditStore, type CreditStore } from '../src/index.js';
import { meteredJsonAnswer, meteredStreamAnswer, type StateSink } from '../src/metered-answer.js';

const STATE = { v: 2, kind: 'metered_state', nullifier: `0x${'1'.repeat(64)}`, r: 49_000, p: 0, sig: { rx: `0x${'2'.repeat(64)}`, ry: `0x${'3'.repeat(64)}`, s: `0x${'4'.repeat(64)}` } };

/** A sink recording what it was given; `refuse` makes settle reject. */
function sink(refuse = false): StateSink & { settled: unknown[]; released: number } {
  const s = {
    settled: [] as unknown[],
    released: 0,
    async settle(wire: unknown) {
      s.settled.push(wire);
      if (refuse) throw new Error('refused');
    },
    release() {
      s.released++;
    },
  };
  return s;
}

/** An SSE response whose body arrives in the given pieces. */
function sse(pieces: string[]): Response {
  const enc = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < pieces.length) c.enqueue(enc.encode(pieces[i++]));
      else c.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const chunk = (text: string) => `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
const usage = `data: ${JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3 } })}\n\n`;
const stateEvent = `event: zkcredits.state\ndata: ${JSON.stringify(STATE)}\n\n`;
const streamText = chunk('Hel') + chunk('lo') + usage + stateEvent + 'data: [DONE]\n\n';

describe('metered answers', () => {
  it('a JSON answer loses its zkcredits member, which is settled; one without it releases the lane', async () => {
    const s = sink();
    const res = new Response(JSON.stringify({ id: 'chatcmpl-1', choices: [], zkcredits: STATE }), { status: 200, headers: { 'content-type': 'application/json', 'content-length': '999' } });
    const out = await meteredJsonAnswer(res, s);
    expect(await out.json()).toEqual({ id: 'chatcmpl-1', choices: [] });
    expect(out.headers.get('content-length')).toBeNull();
    expect(s.settled).toEqual([STATE]);
    const none = sink();
    await meteredJsonAnswer(new Response('{"id":"x"}', { status: 200 }), none);
    expect(none).toMatchObject({ settled: [], released: 1 });
  });

  it('an SSE answer is passed on byte for byte without its state event, whatever the split, the state settled before [DONE]', async () => {
    for (const pieces of [[streamText], [...streamText], streamText.match(/[\s\S]{1,7}/g)!, streamText.replace(/\n/g, '\r\n').match(/[\s\S]{1,5}/g)!]) {
      const s = sink();
      const out = meteredStreamAnswer(sse(pieces), s);
      const reader = out.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
        if (text.includes('[DONE]')) expect(s.settled).toHaveLength(1);
      }
      const crlf = pieces.join('').includes('\r\n');
      const expected = (chunk('Hel') + chunk('lo') + usage + 'data: [DONE]\n\n').replace(/\n/g, crlf ? '\r\n' : '\n');
      expect(text).toBe(expected);
      expect(s.settled).toEqual([STATE]);
      expect(s.released).toBe(0);
    }
  });

  it('settles even when the caller stops reading; a stream without a state releases; a refused state errors the stream', async () => {
    const s = sink();
    const out = meteredStreamAnswer(sse([chunk('a'), chunk('b'), stateEvent, 'data: [DONE]\n\n']), s);
    const reader = out.body!.getReader();
    await reader.read();
    await reader.cancel();
    for (let i = 0; s.settled.length === 0 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
    expect(s.settled).toEqual([STATE]);

    const none = sink();
    await meteredStreamAnswer(sse([chunk('a'), 'data: [DONE]\n\n']), none).text();
    expect(none).toMatchObject({ settled: [], released: 1 });

    const refused = sink(true);
    await expect(meteredStreamAnswer(sse([chunk('a'), stateEvent, 'data: [DONE]\n\n']), refused).text()).rejects.toThrow('refused');
    expect(refused.released).toBe(0);
  });
});

describe('client stores: metered accounts', () => {
  beforeAll(async () => {
    await initPoseidon2();
  });

  const record = (master: bigint): MeteredAccountRecord => {
    const k = deriveAccountSecret(master, 0);
    return {
      id: 'b'.repeat(32),
      kind: 'metered',
      accountId: toFieldHex(accountId(k)),
      secret: toFieldHex(k),
      index: 0,
      status: 'open',
      chainId: 31337,
      contract: `0x${'ab'.repeat(20)}`,
      dLane: 100_000,
      lanesLog2: 1,
      sLane: 10,
      cMax: 50_000,
      priceUnit: '1',
      expiryDay: 30_000,
      leafIndex: 0,
      fromBlock: '1',
      lanes: genesisLanes(1),
      createdAt: 1,
    };
  };

  const stores: [string, () => Promise<{ store: CreditStore; restart(): Promise<CreditStore> }>][] = [
    [
      'MemoryCreditStore',
      async () => {
        const store = new MemoryCreditStore();
        return { store, restart: async () => new MemoryCreditStore([], { master: await store.masterSecret(), metered: await store.listMeteredAccounts() }) };
      },
    ],
    [
      'VaultCreditStore',
      async () => {
        const storage = new MemoryVaultStorage();
        const vault = await Vault.create(storage, 'a long enough passphrase');
        return { store: new VaultCreditStore(vault), restart: async () => new VaultCreditStore(await Vault.unlock(storage, 'a long enough passphrase')) };
      },
    ],
  ];

  for (const [name, make] of stores) {
    it(`${name}: journals a lane call, commits only its own state, keeps a pending call across a restart, refuses a clashing id`, async () => {
      const { store, restart } = await make();
      const r = record(await store.masterSecret());
      await store.addMeteredAccounts([r]);
      await expect(store.addMeteredAccounts([r])).rejects.toThrow();
      const pending = lanePendingEntry({ nullifier: 5n, x: 6n, next: { lane: 1, balance: 50_000, penalties: 0, n: 1, salt: 7n }, sentAt: 1 });
      await store.journalLane(r.id, 1, pending);
      expect((await store.meteredAccount(r.id)).lanes[1]!.pending).toEqual(pending);
      const again = await restart();
      expect((await again.meteredAccount(r.id)).lanes[1]!.pending).toEqual(pending);
      expect((await again.commitLane(r.id, 1, 4n, { r: 1, p: 0, sig: { rx: 1n, ry: 2n, s: 3n } })).committed).toBe(false);
      const { record: committed, committed: ok } = await again.commitLane(r.id, 1, 5n, { r: 1, p: 0, sig: { rx: 1n, ry: 2n, s: 3n } });
      expect(ok).toBe(true);
      expect(committed.lanes[1]).toMatchObject({ state: { kind: 'signed', r: 1, opening: { n: 1 } } });
      expect(committed.lanes[1]!.pending).toBeUndefined();
      expect((await again.updateMeteredAccount(r.id, { status: 'revoked' })).status).toBe('revoked');
    });
  }
});
