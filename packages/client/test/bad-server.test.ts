// A server for another circuit, chain or contract (or an RPC on another chain) is refused with a
// typed error before anything is proven or sent, and the store is left as it was. A tiny HTTP
// server plays the zkcredits server (config, models) and the JSON-RPC endpoint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CREDIT_VK_SHA256, generateCredential, initPoseidon2, isZkCreditsError } from '@zkcredits/core';
import OpenAI from 'openai';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pendingRecord } from '../src/records.js';
import { MemoryCreditStore, ZkCreditsClient, type CreditRecord, type SpendProver } from '../src/index.js';

const CHAIN_ID = 31337;
const CONTRACT = `0x${'ab'.repeat(20)}` as const;

type Fake = {
  url: string;
  config: Record<string, unknown>;
  models: { id: string; zkcredits: { e2ee: boolean | null } }[];
  rpcChainId: number;
  requests: string[];
  close(): Promise<void>;
};

async function startFakeServer(): Promise<Fake> {
  const fake: Fake = { url: '', config: {}, models: [], rpcChainId: CHAIN_ID, requests: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'POST' && path === '/rpc') {
        const call = JSON.parse(Buffer.concat(chunks).toString()) as { id: number; method: string };
        fake.requests.push(`rpc ${call.method}`);
        if (call.method === 'eth_chainId') return json(200, { jsonrpc: '2.0', id: call.id, result: `0x${fake.rpcChainId.toString(16)}` });
        return json(200, { jsonrpc: '2.0', id: call.id, error: { code: -32601, message: 'not here' } });
      }
      fake.requests.push(`${req.method} ${path}`);
      if (path === '/v1/zkcredits/config') return json(200, fake.config);
      if (path === '/v1/models') return json(200, { object: 'list', data: fake.models.map((m) => ({ ...m, object: 'model' })) });
      json(404, { error: { message: 'no', type: 'not_found_error', code: 'not_found', param: null } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return fake;
}

const goodConfig = () => ({
  protocol_version: 1,
  chain_id: CHAIN_ID,
  contract: CONTRACT,
  confirmations: 0,
  tree_depth: 20,
  verification_key_sha256: CREDIT_VK_SHA256,
  models: [{ id: 'plain-model', max_tokens_per_credit: 64 }],
});

describe('a server or chain other than the one chosen', () => {
  let fake: Fake;
  let seeded: CreditRecord[];
  let store: MemoryCreditStore;
  let proofs = 0;
  const prover: SpendProver = {
    async prove() {
      proofs++;
      throw new Error('nothing may be proven here');
    },
  };
  const client = () =>
    new ZkCreditsClient({ server: fake.url, store, prover, chain: { rpcUrl: `${fake.url}/rpc` }, expect: { chainId: CHAIN_ID, contract: CONTRACT }, maxAttempts: 1 });
  const ask = (zk: ZkCreditsClient, extra: Record<string, unknown> = {}) =>
    new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'unused', fetch: zk.fetch, maxRetries: 0 }).chat.completions.create({
      model: 'plain-model',
      messages: [{ role: 'user', content: 'hello' }],
      ...extra,
    });

  beforeAll(async () => {
    await initPoseidon2();
    fake = await startFakeServer();
    const batch = { id: '0'.repeat(32), fromBlock: 1n, now: 1 };
    seeded = [pendingRecord(generateCredential(), { chainId: CHAIN_ID, contract: CONTRACT }, batch), { ...pendingRecord(generateCredential(), { chainId: CHAIN_ID, contract: CONTRACT }, batch), status: 'unspent', leafIndex: 0 }];
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake.config = goodConfig();
    fake.models = [{ id: 'plain-model', zkcredits: { e2ee: false } }];
    fake.rpcChainId = CHAIN_ID;
    fake.requests = [];
    store = new MemoryCreditStore(seeded);
  });

  async function expectNothingChanged(): Promise<void> {
    expect(await store.list()).toEqual(seeded);
    expect(proofs).toBe(0);
    expect(fake.requests.filter((r) => r.startsWith('POST /v1'))).toEqual([]);
  }

  it('another verification key: vk_mismatch', async () => {
    fake.config = { ...goodConfig(), verification_key_sha256: '00'.repeat(32) };
    const zk = client();
    const error = await zk.checkServer().catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'vk_mismatch')).toBe(true);
    expect(error).toMatchObject({ name: 'ClientError', shortMessage: expect.stringMatching(/another circuit/) });
    await expect(ask(zk)).rejects.toMatchObject({ status: 421, code: 'vk_mismatch' });
    await expect(zk.chat({ model: 'plain-model', messages: [] })).rejects.toMatchObject({ code: 'vk_mismatch' });
    await expectNothingChanged();
    expect(fake.requests.some((r) => r.startsWith('rpc'))).toBe(false);
  });

  it('another chain id or contract: wrong_chain, wrong_contract', async () => {
    fake.config = { ...goodConfig(), chain_id: 8453 };
    await expect(client().checkServer()).rejects.toMatchObject({ code: 'wrong_chain', details: 'server chain 8453, expected 31337' });
    await expect(ask(client())).rejects.toMatchObject({ status: 421, code: 'wrong_chain' });
    fake.config = { ...goodConfig(), contract: `0x${'cd'.repeat(20)}` };
    await expect(client().checkServer()).rejects.toMatchObject({ code: 'wrong_contract' });
    await expect(ask(client())).rejects.toMatchObject({ status: 421, code: 'wrong_contract' });
    await expectNothingChanged();
  });

  it('an RPC on another chain: wrong_chain', async () => {
    fake.rpcChainId = 1;
    await expect(client().checkServer()).rejects.toMatchObject({ code: 'wrong_chain', shortMessage: expect.stringMatching(/RPC/) });
    await expectNothingChanged();
  });

  it('an unparseable config: server_unavailable', async () => {
    fake.config = { chain_id: 'thirty' };
    await expect(client().checkServer()).rejects.toMatchObject({ code: 'server_unavailable' });
    await expectNothingChanged();
  });

  it('a model whose E2EE support the server does not know yet: nothing is sent (fail closed)', async () => {
    fake.models = [{ id: 'plain-model', zkcredits: { e2ee: null } }];
    await expect(ask(client())).rejects.toMatchObject({ status: 503, code: 'e2ee_unknown' });
    expect(fake.requests.filter((r) => r === 'GET /v1/models')).toHaveLength(2);
    await expectNothingChanged();
  });

  it('a server without v2 tickets: opening an account is refused before the wallet is asked for anything', async () => {
    const walletClient = createWalletClient({
      account: privateKeyToAccount(`0x${'11'.repeat(32)}`),
      chain: { id: CHAIN_ID, name: 'fake', nativeCurrency: { name: 'E', symbol: 'E', decimals: 18 }, rpcUrls: { default: { http: [`${fake.url}/rpc`] } } },
      transport: http(`${fake.url}/rpc`),
    });
    const zk = client();
    await expect(zk.openAccounts(5, { walletClient })).rejects.toMatchObject({ code: 'purchase_failed', shortMessage: expect.stringMatching(/does not take v2.*Nothing was paid/) });
    expect(fake.requests).toContain('GET /v2/zkcredits/config');
    // No transaction, no signature, no account record.
    expect(fake.requests.filter((r) => /eth_(send|sign)/.test(r))).toEqual([]);
    expect(await store.listAccounts()).toEqual([]);
    await expectNothingChanged();
  });

  it('zk.fetch calls nothing but its own server', async () => {
    const zk = client();
    const res = await zk.fetch('https://api.openai.com/v1/chat/completions', { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'route_not_supported' } });
    expect((await zk.fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: 'not json' })).status).toBe(400);
    expect((await zk.fetch(`${fake.url}/v1/chat/completions`)).status).toBe(405);
    expect(fake.requests).toEqual([]);
    // A Request object works as fetch's first argument too.
    const responses = await zk.fetch(new Request(`${fake.url}/v1/responses`, { method: 'POST', body: '{}' }));
    expect(responses.status).toBe(404);
    expect(await responses.json()).toMatchObject({ error: { code: 'route_not_supported', message: expect.stringMatching(/POST \/v1\/chat\/completions/) } });
    const models = await zk.fetch(new Request(`${fake.url}/v1/models`));
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['plain-model']);
    expect(fake.requests).toEqual(['GET /v1/models']);
    await expectNothingChanged();
  });
});
