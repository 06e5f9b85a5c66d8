// Protocol v2 flat accounts through the SDK on the real stack (Anvil + CreditPool, the server,
// venice-sim, real proofs): open an account for N calls and pay chats with its tickets; a retry is
// byte-identical and charged once; a restart burns the ticket that was in flight; a backup restored
// into a fresh store recovers the right next ticket through the whole /spent download; a revoked
// account is refused with a typed error and marked revoked.
import {
  CHAT_PATH,
  MerkleTree,
  SPENT_PREFIXES,
  applyPurchases,
  buildTicketWitness,
  creditPoolAbi,
  encodeTicketPayload,
  fetchPurchases,
  isZkCreditsError,
  requestHash,
  ticketNullifier,
  toFieldHex,
  utcDay,
  type AccountRecord,
} from '@zkcredits/core';
import type { TicketProver } from '@zkcredits/core/prover';
import { MemoryVaultStorage, Vault } from '@zkcredits/core/vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCreditStore, VaultCreditStore, type FetchFn, type SpendProver, type ZkCreditsClientOptions } from '../src/index.js';
import { nodeProver, nodeTicketProver } from '../src/node.js';
import { MODEL, clientFor, fundedWallet, startClientStack, type Stack } from './helpers.js';

const PASS = 'correct horse battery';

type Sent = { body: string; nullifier: string; status: number | 'lost' };

/** A paid fetch that records each v2 request's exact body and answer; `plan` can lose a request before the server or its answer after it. */
function ticketFetch(plan: ('drop-request' | 'drop-answer' | 'pass')[] = []): { fetch: FetchFn; sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    fetch: async (input, init) => {
      const body = String(init?.body);
      const nullifier = (JSON.parse(body) as { zkcredits: { nullifier?: string } }).zkcredits.nullifier ?? '';
      const step = plan.shift() ?? 'pass';
      if (step === 'drop-request') {
        sent.push({ body, nullifier, status: 'lost' });
        throw new TypeError('fetch failed (connection reset)');
      }
      const res = await fetch(input, init);
      if (step === 'drop-answer') {
        await res.arrayBuffer(); // the server answered; the answer never reaches the caller
        sent.push({ body, nullifier, status: 'lost' });
        throw new TypeError('fetch failed (connection reset)');
      }
      sent.push({ body, nullifier, status: res.status });
      return res;
    },
  };
}

const question = (content: string) => ({ model: MODEL, messages: [{ role: 'user', content }] });

describe('v2 flat accounts through the SDK', () => {
  let stack: Stack & { stopAll(): Promise<void> };
  let prover: SpendProver;
  let ticketProver: TicketProver;

  const leafCount = async () => Number(await stack.chain.client.readContract({ address: stack.chain.pool, abi: creditPoolAbi, functionName: 'nextIndex' }));
  const indexed = async () => stack.waitIndexed(await leafCount());
  const client = (options: Partial<ZkCreditsClientOptions>) => clientFor(stack, prover, { ticketProver, ...options });
  const answerOf = async (res: Response) => ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

  beforeAll(async () => {
    stack = await startClientStack();
    prover = await nodeProver({ backend: 'native' })();
    ticketProver = (await nodeTicketProver({ backend: 'native' })()) as TicketProver;
  });
  afterAll(async () => {
    await prover?.destroy?.();
    await ticketProver?.destroy();
    await stack?.stopAll();
  });

  it('opens an account for 5 calls and pays 3 chats with distinct tickets of it; balance shows 2 calls left', async () => {
    const store = new MemoryCreditStore();
    const paid = ticketFetch();
    const zk = client({ store, paidFetch: paid.fetch });
    const [account] = await zk.openAccounts(5, { walletClient: await fundedWallet(stack, 2) });
    expect(account).toMatchObject({ status: 'open', tickets: 5, nextTicket: 0 });
    await indexed();

    for (const i of [1, 2, 3]) expect(await answerOf(await zk.chat(question(`ticket call ${i}`)))).toContain(`ticket call ${i}`);
    expect(paid.sent.map((s) => s.status)).toEqual([200, 200, 200]);
    const k = BigInt(account!.secret);
    expect(paid.sent.map((s) => s.nullifier)).toEqual([0, 1, 2].map((i) => toFieldHex(ticketNullifier(k, i))));
    for (const s of paid.sent) expect(JSON.parse(s.body).zkcredits).toMatchObject({ v: 2, kind: 'flat', today: utcDay(Date.now()) });
    const balance = await zk.balance();
    expect(balance).toMatchObject({ unspent: 0, spent: 0 });
    expect(balance.accounts).toEqual([expect.objectContaining({ id: account!.id, status: 'open', tickets: 5, callsLeft: 2, inFlight: 0, burned: 0, expired: false })]);
  });

  it('a retry of the same request is byte-identical and charged once: lost before the server it is served, lost after it is ticket_reused', async () => {
    const store = new MemoryCreditStore();
    const paid = ticketFetch(['drop-request', 'pass', 'drop-answer', 'pass']);
    const zk = client({ store, paidFetch: paid.fetch });
    const [account] = await zk.openAccounts(4, { walletClient: await fundedWallet(stack, 2) });
    await indexed();

    // The request never reached the server: the retry re-sends the same bytes, on the same ticket, and is served.
    await expect(zk.chat(question('lost on the way'))).rejects.toMatchObject({ code: 'server_unavailable' });
    expect((await zk.accounts())[0]).toMatchObject({ callsLeft: 3, inFlight: 1 });
    expect(await answerOf(await zk.chat(question('lost on the way')))).toContain('lost on the way');
    expect(paid.sent[1]!.body).toBe(paid.sent[0]!.body);
    expect(paid.sent.map((s) => s.status)).toEqual(['lost', 200]);

    // The answer was lost after the server served it: the same bytes again get ticket_reused (answers are not kept).
    await expect(zk.chat(question('answer lost'))).rejects.toMatchObject({ code: 'server_unavailable' });
    const reused = await zk.chat(question('answer lost')).catch((e: unknown) => e);
    expect(isZkCreditsError(reused, 'ticket_reused')).toBe(true);
    expect(paid.sent[3]!.body).toBe(paid.sent[2]!.body);
    expect(paid.sent.map((s) => s.status)).toEqual(['lost', 200, 'lost', 409]);

    // Two requests, two tickets: each charged once.
    expect((await zk.accounts())[0]).toMatchObject({ callsLeft: 2, inFlight: 0, burned: 0 });
    expect(new Set(paid.sent.map((s) => s.nullifier)).size).toBe(2);
    expect(paid.sent[2]!.nullifier).toBe(toFieldHex(ticketNullifier(BigInt(account!.secret), 1)));
  });

  it('a restart burns the ticket in flight: the same request is then paid with the next ticket, the old one is never sent again', async () => {
    const storage = new MemoryVaultStorage();
    const vault = await Vault.create(storage, PASS);
    const first = ticketFetch(['drop-request']);
    const zk = client({ store: new VaultCreditStore(vault), paidFetch: first.fetch });
    const [account] = await zk.openAccounts(3, { walletClient: await fundedWallet(stack, 2) });
    await indexed();
    await expect(zk.chat(question('in flight at exit'))).rejects.toMatchObject({ code: 'server_unavailable' });
    expect(vault.getAccount(account!.id)).toMatchObject({ nextTicket: 1, journal: [{ ticket: 0 }] });
    vault.lock(); // the process ends

    const reopened = await Vault.unlock(storage, PASS);
    expect(reopened.getAccount(account!.id)).toMatchObject({ nextTicket: 1, burned: 1, journal: [] });
    const after = ticketFetch();
    const again = client({ store: new VaultCreditStore(reopened), paidFetch: after.fetch });
    expect(await answerOf(await again.chat(question('in flight at exit')))).toContain('in flight at exit');
    const k = BigInt(account!.secret);
    expect(first.sent.map((s) => s.nullifier)).toEqual([toFieldHex(ticketNullifier(k, 0))]);
    expect(after.sent.map((s) => [s.nullifier, s.status])).toEqual([[toFieldHex(ticketNullifier(k, 1)), 200]]);
    expect((await again.accounts())[0]).toMatchObject({ callsLeft: 1, burned: 1 });
  });

  it('recovery from a backup into a fresh store finds the accounts and the right next ticket, downloading every /spent bucket in order', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    await vault.masterSecret();
    const masterOnly = vault.exportBackup(); // before any account: the master alone
    const zk = client({ store: new VaultCreditStore(vault) });
    const [a, b] = await zk.openAccounts([4, 6], { walletClient: await fundedWallet(stack, 2) });
    await indexed();
    const withRecords = vault.exportBackup(); // both accounts, no ticket used yet
    for (const i of [1, 2, 3]) await zk.chat(question(`before the backup is restored ${i}`));
    const used = (await zk.accounts()).map((x) => (x.kind === 'flat' ? x.tickets - x.callsLeft : 0));
    expect(used.reduce((s, n) => s + n, 0)).toBe(3);

    // Restored with its records, an account pays nothing until recovered: its counter is behind.
    const unrecovered = client({ store: new VaultCreditStore(await Vault.restore(new MemoryVaultStorage(), withRecords, PASS)) });
    expect((await unrecovered.accounts()).map((x) => x.recoveryNeeded)).toEqual([true, true]);
    await expect(unrecovered.chat(question('too early'))).rejects.toMatchObject({ code: 'no_credits' });

    for (const backup of [masterOnly, withRecords]) {
      const restored = await Vault.restore(new MemoryVaultStorage(), backup, PASS);
      const urls: string[] = [];
      const recovering = client({
        store: new VaultCreditStore(restored),
        isolatedFetch: () => async (input, init) => {
          urls.push(String(input));
          return fetch(input, init);
        },
      });
      const found = await recovering.recover();
      expect(found.map((f) => [f.accountId, f.nextTicket])).toEqual([
        [a!.accountId, used[0]],
        [b!.accountId, used[1]],
      ]);
      // Every bucket, in the fixed order; nothing about a single nullifier.
      const spentUrls = urls.filter((u) => u.includes('/v2/zkcredits/spent'));
      expect(spentUrls.map((u) => new URL(u).searchParams.get('prefix'))).toEqual([...SPENT_PREFIXES]);
      for (const u of spentUrls) expect([...new URL(u).searchParams.keys()].every((key) => key === 'prefix' || key === 'after')).toBe(true);
      expect(urls.length).toBe(spentUrls.length);
      expect((await recovering.accounts()).every((x) => !x.recoveryNeeded)).toBe(true);
    }

    // The recovered store pays the next call with the next unused ticket.
    const restored = await Vault.restore(new MemoryVaultStorage(), masterOnly, PASS);
    const paid = ticketFetch();
    const next = client({ store: new VaultCreditStore(restored), paidFetch: paid.fetch });
    await next.recover();
    expect((await next.chat(question('after recovery'))).status).toBe(200);
    const first = [a!, b!].sort((x, y) => x.expiryDay! - y.expiryDay! || x.createdAt - y.createdAt || x.index - y.index)[0]!;
    const firstUsed = first.id === a!.id ? used[0]! : used[1]!;
    expect(paid.sent.map((s) => [s.nullifier, s.status])).toEqual([[toFieldHex(ticketNullifier(BigInt(first.secret), firstUsed)), 200]]);
  });

  it('a revoked account is refused with a typed error, marked revoked, and no longer pays', async () => {
    const store = new MemoryCreditStore();
    const zk = client({ store });
    const [account] = await zk.openAccounts(5, { walletClient: await fundedWallet(stack, 2) });
    await indexed();
    expect((await zk.chat(question('first use of ticket 0'))).status).toBe(200);

    // Someone holding the secret uses ticket 0 again for another request: two shares, the server revokes the account.
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client: stack.chain.client, address: stack.chain.pool, fromBlock: 0n, toBlock: await stack.chain.client.getBlockNumber({ cacheTime: 0 }) }));
    const body = question('a second request on ticket 0');
    const x = requestHash({ chainId: stack.chain.chainId, contract: stack.chain.pool, method: 'POST', path: CHAT_PATH, body });
    const witness = buildTicketWitness({ k: BigInt(account!.secret), tickets: account!.tickets, expiryDay: account!.expiryDay! }, tree, 0, x, utcDay(Date.now()));
    const double = await stack.post({ ...body, zkcredits: encodeTicketPayload(await ticketProver.prove(witness)) });
    expect(double.status).toBe(403);

    const refused = await zk.chat(question('after the double use')).catch((e: unknown) => e);
    expect(isZkCreditsError(refused, 'account_revoked')).toBe(true);
    expect((refused as { status?: number }).status).toBe(403);
    const records = (await store.listAccounts()) as AccountRecord[];
    expect(records.find((r) => r.id === account!.id)?.status).toBe('revoked');
    expect((await zk.accounts())[0]).toMatchObject({ status: 'revoked', callsLeft: 0 });
    // With no other account and no credit, the next call has nothing to pay with.
    await expect(zk.chat(question('nothing left'))).rejects.toMatchObject({ code: 'no_credits' });
  });
});
