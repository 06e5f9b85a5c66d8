// Side channels and per-request cost: /metrics (spend counters) is served on its own
// listener, never on the public API port; a nullifier's spent state is answered before the
// proof is checked (PROTOCOL.md, what it reveals); a /leaves page copies only the page,
// however large the tree.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toFieldHex } from '@zkcredits/core';
import { chatBody, errorOf, startStack, type Stack } from './helpers/stack.js';

describe('side channels and page cost', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack('sqlite');
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('answers 404 not_found for /metrics on the API port and serves the counters on the metrics listener (loopback)', async () => {
    const [credit] = await s.buyCredits(1);
    const body = chatBody('metrics elsewhere');
    expect((await s.post({ ...body, zkcredits: await s.prove(credit!, body) })).status).toBe(200);

    expect(await errorOf(await fetch(`${s.url}/metrics`))).toMatchObject({ status: 404, code: 'not_found' });

    const metricsUrl = s.server.metricsUrl;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new URL(metricsUrl!).port).not.toBe(String(s.server.port));
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/zkc_credits_total\{outcome="spent",code=""\} 1/);
    expect(text).toMatch(/zkc_http_requests_total\{route="unmatched",status="404"\} [1-9]/); // the API's /metrics 404 above
    expect(text).toMatch(/zkc_http_connections \d+/);
    expect(text).toMatch(/zkc_tree_leaves 1/);

    // The metrics listener serves /metrics and nothing else.
    expect(await errorOf(await fetch(`${metricsUrl}/v1/models`))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await errorOf(await fetch(`${metricsUrl}/metrics`, { method: 'POST' }))).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('answers a nullifier hash\'s spent state before checking the proof (documented order: cheap, refuses replays)', async () => {
    const [a, b] = await s.buyCredits(2);
    const bodyA = chatBody('spent first');
    const zkA = await s.prove(a!, bodyA);
    expect((await s.post({ ...bodyA, zkcredits: zkA })).status).toBe(200);
    const zkB = await s.prove(b!, chatBody('another body'));
    // A proof that does not verify for this request, carrying a spent nullifier hash: the state answers.
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: { ...zkB, nullifier_hash: zkA.nullifier_hash } }))).toMatchObject({ status: 402, code: 'credit_spent' });
    // The same with an unspent nullifier hash: the proof is checked, and refused.
    expect(await errorOf(await s.post({ ...bodyA, zkcredits: zkB }))).toMatchObject({ status: 401, code: 'invalid_proof' });
  });

  it('builds a /leaves page from the requested range only, never from every leaf after `from`', async () => {
    await s.buyCredits(40);
    const total = s.tree.size;
    // The tree the route reads (the indexer's own): record how many leaves each call copies.
    const tree = s.server.indexer.tree;
    const spy = vi.spyOn(tree, 'leaves');
    try {
      const page = (await (await fetch(`${s.url}/v1/zkcredits/leaves?from=3&limit=5`)).json()) as { from: number; count: number; total: number; root: string; leaves: string };
      expect(page).toMatchObject({ from: 3, count: 5, total, root: toFieldHex(s.tree.root) });
      const bytes = Buffer.from(page.leaves, 'base64');
      const got = Array.from({ length: 5 }, (_, i) => BigInt(`0x${bytes.subarray(i * 32, i * 32 + 32).toString('hex')}`));
      expect(got).toEqual(s.tree.leaves(3).slice(0, 5));

      const tail = await fetch(`${s.url}/v1/zkcredits/leaves?from=${total - 2}&limit=5`, { headers: { accept: 'application/octet-stream' } });
      expect(Buffer.from(await tail.arrayBuffer()).length).toBe(64);
      const past = (await (await fetch(`${s.url}/v1/zkcredits/leaves?from=${total + 10}&limit=5`)).json()) as { count: number };
      expect(past.count).toBe(0);

      expect(spy).toHaveBeenCalled();
      const copied = spy.mock.results.map((r) => (r.value as readonly bigint[]).length);
      // At most `limit` leaves per page (before: every leaf from `from` to the end, here 38).
      expect(Math.max(...copied)).toBeLessThanOrEqual(5);
    } finally {
      spy.mockRestore();
    }
  });
});
