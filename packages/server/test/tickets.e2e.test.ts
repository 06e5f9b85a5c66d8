// Protocol v2 flat tickets end to end: real Anvil + CreditPool with accounts, real ticket proofs,
// the real server (SQLite), the Venice simulator. One ticket pays for one request, a byte-identical
// retry is served at most once, a second body is evidence: revocation, then an on-chain slash.
import {
  FIELD_MODULUS,
  MAX_TICKETS,
  SPENT_PREFIX_HEX_DIGITS,
  SPENT_PREFIXES,
  TICKET_VK_SHA256,
  creditPoolAbi,
  recoverAccountSecret,
  ticketNullifier,
  toFieldHex,
  utcDay,
} from '@zkcredits/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPENT_PAGE_SIZE } from '../src/routes/v2.js';
import { accountStatus, chatRequestHash, SLASHER_ADDRESS, SLASHER_KEY, slashEvents, type TestAccount } from './helpers/accounts.js';
import { chatBody, errorOf, startStack, type Stack } from './helpers/stack.js';

const DAY_MS = 86_400_000;

async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('v2 flat tickets (SQLite)', () => {
  let s: Stack;
  /** The server's clock runs this far ahead of the machine's (retention and day-window tests move it). */
  let clockOffsetMs = 0;
  /** The account revoked by two shares of `evidenceNf` (evidence kept forever). */
  let revoked: TestAccount | undefined;
  let evidenceNf: bigint | undefined;
  /** Moves the server's clock to noon of UTC day `day`. */
  const setDay = (day: number) => (clockOffsetMs = day * DAY_MS + DAY_MS / 2 - Date.now());
  const today = () => utcDay(Date.now() + clockOffsetMs);

  beforeAll(async () => {
    s = await startStack('sqlite', { env: { ZKC_SLASHER_KEY: SLASHER_KEY }, now: () => Date.now() + clockOffsetMs });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = (body: object, zk: unknown) => s.post({ ...body, zkcredits: zk });
  const spentBucket = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    for (let after: string | null | undefined; ; ) {
      const res = await fetch(`${s.url}/v2/zkcredits/spent?prefix=${prefix}${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { nullifiers: string[]; next: string | null };
      out.push(...page.nullifiers);
      if (!page.next) return out;
      after = page.next;
    }
  };
  const seen = async (nf: bigint) => (await spentBucket(toFieldHex(nf).slice(2, 2 + SPENT_PREFIX_HEX_DIGITS))).filter((x) => x === toFieldHex(nf)).length;

  it('serves a byte-identical retry after a provider failure once, answers ticket_reused after that, and charges the ticket once', async () => {
    const [account] = await s.openAccounts([3]);
    const body = chatBody('one ticket, one answer');
    const zk = await s.proveTicket(account!, 0, body);
    const before = s.sim.state.chatRequestCount;

    s.sim.faults.once('status:500', { route: 'chat' });
    expect(await errorOf(await post(body, zk))).toMatchObject({ status: 502, code: 'upstream_error' });
    // Unserved: the share stays, and the very same request may be served now.
    const served = await post(body, zk);
    expect(served.status).toBe(200);
    expect(((await served.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain('one ticket, one answer');
    // Served: a retry gets no content (answers are never stored), and the provider is not called.
    const reused = await post(body, zk);
    expect(reused.headers.get('retry-after')).toBeNull();
    expect(await errorOf(reused)).toMatchObject({ status: 409, code: 'ticket_reused', type: 'conflict_error', param: 'zkcredits.nullifier' });
    expect(s.sim.state.chatRequestCount - before).toBe(2);

    const nf = ticketNullifier(account!.k, 0);
    expect(await seen(nf)).toBe(1);
    expect((await s.server.store.lookupTicket(nf)).ticket).toMatchObject({ x: chatRequestHash(s.chain, body), status: 'spent' });
    expect(await accountStatus(s.chain, account!.id)).toBe(1);
  });

  it('revokes the account and slashes it on-chain when a ticket comes back with another body; its other tickets are refused', async () => {
    const [account, bystander] = await s.openAccounts([5, 2]);
    const bodyA = chatBody('first request on ticket 0');
    const bodyB = chatBody('a different request on ticket 0');
    expect((await post(bodyA, await s.proveTicket(account!, 0, bodyA))).status).toBe(200);
    const before = s.sim.state.chatRequestCount;

    const second = await post(bodyB, await s.proveTicket(account!, 0, bodyB));
    expect(await errorOf(second)).toMatchObject({ status: 403, code: 'account_revoked', type: 'permission_error' });
    expect(s.sim.state.chatRequestCount).toBe(before);

    // Revoked before anything was published: every other ticket of the account is refused at once.
    const bodyC = chatBody('ticket 3 of a revoked account');
    expect(await errorOf(await post(bodyC, await s.proveTicket(account!, 3, bodyC)))).toMatchObject({ status: 403, code: 'account_revoked' });
    expect(s.sim.state.chatRequestCount).toBe(before);

    // The slash lands from the operator's key.
    await waitFor(() => accountStatus(s.chain, account!.id), (st) => st === 2, 'the account to be slashed on-chain');
    const events = await slashEvents(s.chain, account!.id);
    const nf = ticketNullifier(account!.k, 0);
    evidenceNf = nf;
    revoked = account;
    expect(events).toEqual([{ reporter: SLASHER_ADDRESS, nullifier: nf, transactionHash: expect.any(String) }]);
    const evidence = await waitFor(() => s.server.store.getEvidence(nf), (e) => e?.slashState === 'slashed', 'the slash to be recorded');
    expect(evidence).toMatchObject({ accountId: account!.id, x1: chatRequestHash(s.chain, bodyA), x2: chatRequestHash(s.chain, bodyB), slashTx: events[0]!.transactionHash });
    expect(recoverAccountSecret(evidence!)?.k).toBe(account!.k);

    // Another account is untouched.
    const bodyD = chatBody('an honest account');
    expect((await post(bodyD, await s.proveTicket(bystander!, 0, bodyD))).status).toBe(200);
    expect(await accountStatus(s.chain, bystander!.id)).toBe(1);

    // k and the shares never reach a log line (only the public account id does).
    const logs = s.logs.text;
    for (const secret of [account!.k, evidence!.y1, evidence!.y2]) {
      expect(logs).not.toContain(secret.toString(16).padStart(64, '0'));
      expect(logs).not.toContain(secret.toString());
    }
    expect(logs).toContain(toFieldHex(account!.id));
  });

  it('serves exactly one of 50 concurrent requests on one ticket', async () => {
    const [account] = await s.openAccounts([2]);
    const body = chatBody('fifty at once');
    const zk = await s.proveTicket(account!, 1, body);
    const before = s.sim.state.chatRequestCount;
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(body, zk)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of responses.filter((x) => x.status !== 200)) {
      const err = await errorOf(r);
      expect(['ticket_in_use', 'ticket_reused']).toContain(err.code);
      if (err.code === 'ticket_in_use') expect(r.headers.get('retry-after')).toBe('1');
    }
    expect(s.sim.state.chatRequestCount - before).toBe(1);
    expect(await seen(ticketNullifier(account!.k, 1))).toBe(1);
  });

  it('refuses malformed payloads, a day outside {d−1, d}, an unknown root and a proof for another body with typed errors, and spends nothing', async () => {
    const [account] = await s.openAccounts([4]);
    const body = chatBody('refused first, served later');
    const zk = await s.proveTicket(account!, 0, body);
    const nf = ticketNullifier(account!.k, 0);
    const before = s.sim.state.chatRequestCount;
    const refused = async (member: unknown, b: object = body) => errorOf(await post(b, member));

    expect(await refused({ v: 2, kind: 'flat' })).toMatchObject({ status: 400, code: 'invalid_proof_payload', param: 'zkcredits' });
    expect(await refused({ ...zk, kind: 'metered' })).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    expect(await refused({ ...zk, x: toFieldHex(1n) })).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    expect(await refused({ ...zk, today: String(zk.today) })).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    expect(await refused({ ...zk, nullifier: `0x${FIELD_MODULUS.toString(16).padStart(64, '0')}` })).toMatchObject({ status: 400, code: 'invalid_field', param: 'zkcredits.nullifier' });
    expect(await refused({ ...zk, proof: zk.proof.slice(0, 100) })).toMatchObject({ status: 400, code: 'invalid_proof_payload' });
    for (const day of [today() + 1, today() - 2, 0]) {
      const err = await refused({ ...zk, today: day });
      expect(err).toMatchObject({ status: 400, code: 'invalid_today', param: 'zkcredits.today' });
      expect(err.message).toContain(`accepted ${today() - 1} or ${today()}`);
    }
    expect(await refused({ ...zk, root: toFieldHex(12345n) })).toMatchObject({ status: 403, code: 'unknown_root', param: 'zkcredits.root' });
    // A valid proof for this body sent with another body does not verify: nothing is recorded, so
    // nobody can plant a "first share" (or frame the account) without the account's secret.
    const other = chatBody('not what the proof was made for');
    expect(await refused(zk, other)).toMatchObject({ status: 401, code: 'invalid_proof', param: 'zkcredits.proof' });
    expect(await s.server.store.lookupTicket(nf)).toEqual({ revoked: false, ticket: null });
    expect(await seen(nf)).toBe(0);
    expect(s.sim.state.chatRequestCount).toBe(before);

    // Nothing was spent: the genuine request is served.
    expect((await post(body, zk)).status).toBe(200);
    expect(await accountStatus(s.chain, account!.id)).toBe(1);
  });

  it('accepts yesterday\'s day number, so a proof made just before midnight still pays', async () => {
    const [account] = await s.openAccounts([1]);
    const body = chatBody('proved yesterday');
    expect((await post(body, await s.proveTicket(account!, 0, body, { today: today() - 1 }))).status).toBe(200);
  });

  it('publishes the deployment\'s v2 terms at GET /v2/zkcredits/config', async () => {
    const res = await fetch(`${s.url}/v2/zkcredits/config`);
    expect(res.status).toBe(200);
    const price = await s.chain.client.readContract({ address: s.chain.pool, abi: creditPoolAbi, functionName: 'pricePerTicket' });
    const ttl = await s.chain.client.readContract({ address: s.chain.pool, abi: creditPoolAbi, functionName: 'ttlDays' });
    expect(await res.json()).toMatchObject({
      protocol_version: 2,
      chain_id: s.chain.chainId,
      contract: s.chain.pool.toLowerCase(),
      kinds: ['flat'],
      price_per_ticket: price.toString(),
      ttl_days: Number(ttl),
      max_tickets: MAX_TICKETS,
      accepted_days: [today() - 1, today()],
      ticket_verification_key_sha256: TICKET_VK_SHA256,
      spent_prefix_hex_digits: SPENT_PREFIX_HEX_DIGITS,
      spent_prefixes: ['0', '1', '2', '3'],
      spent_page_size: SPENT_PAGE_SIZE,
      retention_grace_days: 7,
      request_binding: { method: 'POST', path: '/v1/chat/completions', body_field: 'zkcredits' },
    });
  });

  it('lists seen nullifiers by bucket in sorted pages, and answers bad queries with typed errors (no per-nullifier query)', async () => {
    // Every bucket together holds exactly the tickets seen so far, each once, sorted.
    const all: string[] = [];
    expect(SPENT_PREFIXES).toEqual(['0', '1', '2', '3']); // nullifiers are below p = 0x3064…
    for (const prefix of SPENT_PREFIXES) {
      const bucket = await spentBucket(prefix);
      expect(bucket).toEqual([...bucket].sort());
      expect(bucket.every((nf) => nf.startsWith(`0x${prefix}`))).toBe(true);
      all.push(...bucket);
    }
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThan(0);

    // More than a page: the cursor walks the bucket without gaps or repeats.
    const many = Array.from({ length: SPENT_PAGE_SIZE + 5 }, (_, i) => BigInt(`0x2${'0'.repeat(55)}${(i + 1).toString(16).padStart(8, '0')}`));
    for (const nf of many) await s.server.store.reserveTicket({ nullifier: nf, x: 1n, y: 1n }, 'bulk', Date.now() + clockOffsetMs, 60_000);
    const first = (await (await fetch(`${s.url}/v2/zkcredits/spent?prefix=2`)).json()) as { prefix: string; after: null; count: number; nullifiers: string[]; next: string };
    expect(first).toMatchObject({ prefix: '2', after: null, count: SPENT_PAGE_SIZE });
    expect(first.next).toBe(first.nullifiers.at(-1));
    const bucket = await spentBucket('2');
    for (const nf of many) expect(bucket).toContain(toFieldHex(nf));
    expect(new Set(bucket).size).toBe(bucket.length);

    const bad = async (query: string) => errorOf(await fetch(`${s.url}/v2/zkcredits/spent${query}`));
    expect(await bad('')).toMatchObject({ status: 400, code: 'invalid_spent_prefix', param: 'prefix' });
    expect(await bad('?prefix=A')).toMatchObject({ status: 400, code: 'invalid_spent_prefix' });
    expect(await bad('?prefix=ab')).toMatchObject({ status: 400, code: 'invalid_spent_prefix' });
    // No nullifier can start with 4…f: every one is below p = 0x3064….
    expect(await bad('?prefix=4')).toMatchObject({ status: 400, code: 'invalid_spent_prefix', message: expect.stringMatching(/0 to 3/) });
    expect(await bad('?prefix=0x')).toMatchObject({ status: 400, code: 'invalid_spent_prefix' });
    expect(await bad('?prefix=1&prefix=2')).toMatchObject({ status: 400, code: 'invalid_spent_prefix' });
    expect(await bad(`?prefix=1&after=0x12`)).toMatchObject({ status: 400, code: 'invalid_spent_cursor', param: 'after' });
    expect(await bad(`?prefix=1&after=${'0x'.padEnd(66, 'A')}`)).toMatchObject({ status: 400, code: 'invalid_spent_cursor' });
    expect(await bad(`?prefix=1&nullifier=${toFieldHex(1n)}`)).toMatchObject({ status: 400, code: 'invalid_request', param: 'nullifier' });
    expect(await errorOf(await fetch(`${s.url}/v2/zkcredits/spent/${toFieldHex(1n)}`))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await errorOf(await fetch(`${s.url}/v2/zkcredits/spent?prefix=1`, { method: 'POST' }))).toMatchObject({ status: 405, code: 'method_not_allowed' });
  });

  it('forgets tickets TTL_DAYS + grace days after they were first seen, and keeps the evidence', async () => {
    const [account] = await s.openAccounts([1]);
    const body = chatBody('remembered until the account cannot exist any more');
    expect((await post(body, await s.proveTicket(account!, 0, body))).status).toBe(200);
    const nf = ticketNullifier(account!.k, 0);
    const ttl = s.server.indexer.status.ttlDays!;
    const retention = s.server.app.tickets.retention;
    // Kept through first_seen + TTL + 7 grace days; the revoked account's nullifiers through its expiry + 7.
    const firstSeenDay = utcDay((await s.server.store.lookupTicket(nf)).ticket!.firstSeen);
    const keptThrough = Math.min(firstSeenDay + ttl + 7, revoked!.expiryDay + 7);
    const goneFrom = Math.max(firstSeenDay + ttl + 8, revoked!.expiryDay + 8);

    setDay(keptThrough);
    expect(await retention.sweep()).toEqual({ tickets: 0, revokedNullifiers: 0 });
    expect(await seen(nf)).toBe(1);
    expect((await s.server.store.lookupTicket(evidenceNf!)).revoked).toBe(true);
    setDay(goneFrom);
    const swept = await retention.sweep();
    expect(swept.tickets).toBeGreaterThan(0);
    expect(swept.revokedNullifiers).toBeGreaterThan(0);
    expect(await seen(nf)).toBe(0);
    // The revoked account of an earlier test: past its expiry + grace only its evidence is kept.
    expect((await s.server.store.lookupTicket(evidenceNf!)).revoked).toBe(false);
    expect(await s.server.store.getEvidence(evidenceNf!)).toMatchObject({ slashState: 'slashed' });
    clockOffsetMs = 0;
  });
});

describe('v2 evidence without a slasher key', () => {
  it('keeps the evidence pending and the account revoked, and a server started later with a key publishes it', async () => {
    const a = await startStack('sqlite');
    let aRunning = true;
    let b: Stack | undefined;
    try {
      const [account] = await a.openAccounts([2]);
      const bodyA = chatBody('before the key');
      const bodyB = chatBody('another body, before the key');
      expect((await a.post({ ...bodyA, zkcredits: await a.proveTicket(account!, 1, bodyA) })).status).toBe(200);
      expect(await errorOf(await a.post({ ...bodyB, zkcredits: await a.proveTicket(account!, 1, bodyB) }))).toMatchObject({ status: 403, code: 'account_revoked' });
      const nf = ticketNullifier(account!.k, 1);
      // No key: nothing can be sent, the evidence waits.
      await a.server.app.tickets.slasher!.round();
      expect(await a.server.store.getEvidence(nf)).toMatchObject({ slashState: 'pending', slashTx: null });
      expect(await accountStatus(a.chain, account!.id)).toBe(1);
      expect(a.logs.text).toContain('set ZKC_SLASHER_KEY');
      const bodyC = chatBody('still revoked');
      expect(await errorOf(await a.post({ ...bodyC, zkcredits: await a.proveTicket(account!, 0, bodyC) }))).toMatchObject({ code: 'account_revoked' });

      // The operator configures a key: the next server on the same database publishes at start.
      await a.server.stop();
      aRunning = false;
      b = await startStack('sqlite', { chain: a.chain, stores: a.stores, pools: a.pools, env: { ZKC_SLASHER_KEY: SLASHER_KEY } });
      await waitFor(() => accountStatus(a.chain, account!.id), (st) => st === 2, 'the slash to land');
      expect(await slashEvents(a.chain, account!.id)).toHaveLength(1);
      expect(await b.server.store.getEvidence(nf)).toMatchObject({ slashState: 'slashed' });
    } finally {
      await b?.stop();
      if (aRunning) await a.server.stop();
      await a.sim.close();
      await a.pools.destroy();
      await a.chain.stop();
      await a.stores.cleanup();
    }
  });
});
