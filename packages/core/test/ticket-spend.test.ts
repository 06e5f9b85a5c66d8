// TicketSpender over a real vault and real ticket proofs: the journal is written before a payload
// exists, a retry of the same request in the same process re-sends the same bytes on the same
// ticket, another request never gets that ticket, and a restart burns what was in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHAT_PATH,
  MerkleTree,
  TicketSpender,
  accountId,
  credentialCommitment,
  deriveAccountSecret,
  flatAccountLeaf,
  generateCredential,
  isZkCreditsError,
  requestHash,
  ticketShare,
  toFieldHex,
  type TicketRequest,
} from '../src/index.js';
import type { TicketProver } from '../src/prover/index.js';
import { createNodeTicketProver } from '../src/node/index.js';
import { MemoryVaultStorage, Vault, type AccountRecord } from '../src/vault/index.js';

const PASS = 'correct horse battery';
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const TODAY = 20_450;

const messages = (content: string) => [{ role: 'user', content }];
const chat = (content: string): TicketRequest => ({ method: 'POST', path: CHAT_PATH, body: { model: 'm', messages: messages(content) } });

describe('TicketSpender (real ticket proofs)', () => {
  let prover: TicketProver;
  let storage: MemoryVaultStorage;
  let vault: Vault;
  let account: AccountRecord;
  let tree: MerkleTree;
  let proofs = 0;
  const counting = () => ({ prove: (w: Parameters<TicketProver['prove']>[0]) => (proofs++, prover.prove(w)) });

  beforeAll(async () => {
    prover = await createNodeTicketProver();
    storage = new MemoryVaultStorage();
    vault = await Vault.create(storage, PASS);
    const k = deriveAccountSecret(await vault.masterSecret(), 0);
    const id = accountId(k);
    account = {
      id: '1'.repeat(32),
      kind: 'flat',
      accountId: toFieldHex(id),
      secret: toFieldHex(k),
      index: 0,
      status: 'open',
      chainId: 31337,
      contract: CONTRACT,
      tickets: 32,
      expiryDay: TODAY + 30,
      leafIndex: 1,
      fromBlock: '1',
      nextTicket: 0,
      journal: [],
      burned: 0,
      createdAt: 1,
    };
    await vault.addAccounts([account]);
    tree = MerkleTree.fromLeaves([credentialCommitment(generateCredential()), flatAccountLeaf(id, account.tickets, account.expiryDay!)]);
  });
  afterAll(async () => {
    await prover?.destroy();
  });

  it('journals before proving, and a retry of the same request re-sends the identical payload on the same ticket', async () => {
    const spender = new TicketSpender(vault, async () => counting());
    const request = chat('hello');
    const first = await spender.spend({ account, tree, request, today: TODAY });
    expect(first).toMatchObject({ ticket: 0, retry: false });
    expect(vault.getAccount(account.id)).toMatchObject({ nextTicket: 1, journal: [{ ticket: 0, digest: first.digest }] });
    // The payload is the ticket's nullifier and share for this request's x.
    const x = requestHash({ ...request, chainId: account.chainId, contract: account.contract });
    const { nullifier, y } = ticketShare(BigInt(account.secret), 0, x);
    expect(first.payload).toMatchObject({ v: 2, kind: 'flat', nullifier: toFieldHex(nullifier), y: toFieldHex(y), today: TODAY, root: toFieldHex(tree.root) });

    // No answer came back: released, then retried with the same body (key order does not matter to the digest).
    spender.release(first);
    const proved = proofs;
    const again = await spender.spend({ account, tree, request: { ...request, body: { messages: messages('hello'), model: 'm' } }, today: TODAY });
    expect(again).toMatchObject({ ticket: 0, retry: true });
    expect(again.payload).toBe(first.payload);
    expect(JSON.stringify(again.payload)).toBe(JSON.stringify(first.payload));
    expect(proofs).toBe(proved);
    await spender.settle(again, 'served');
    expect(vault.getAccount(account.id)).toMatchObject({ nextTicket: 1, journal: [], burned: 0 });
    expect(spender.inFlight()).toEqual([]);

    // Served: the same request again is a new call, on the next ticket.
    expect((await spender.spend({ account, tree, request, today: TODAY })).ticket).toBe(1);
  });

  it('another request never gets an in-flight ticket; a concurrent identical request does not share one being sent', async () => {
    const spender = new TicketSpender(vault, async () => prover);
    const start = vault.getAccount(account.id)!.nextTicket;
    const a = await spender.spend({ account, tree, request: chat('a'), today: TODAY });
    spender.release(a); // in flight, no outcome
    const b = await spender.spend({ account, tree, request: chat('b'), today: TODAY });
    expect([a.ticket, b.ticket]).toEqual([start, start + 1]);
    // b is being sent; the same request started meanwhile takes its own ticket.
    const b2 = await spender.spend({ account, tree, request: chat('b'), today: TODAY });
    expect(b2.ticket).toBe(start + 2);
    await spender.settle(b, 'served');
    await spender.settle(b2, 'burned');
    const after = vault.getAccount(account.id)!;
    expect(after.nextTicket).toBe(start + 3);
    expect(after.journal.map((e) => e.ticket)).toContain(a.ticket);
    expect(after.journal.map((e) => e.ticket)).not.toContain(b.ticket);
    expect(after.journal.map((e) => e.ticket)).not.toContain(b2.ticket);
  });

  it('reprove (a new root or day) proves the same ticket for the same request again: same nullifier and share', async () => {
    const spender = new TicketSpender(vault, async () => prover);
    const first = await spender.spend({ account, tree, request: chat('root moved'), today: TODAY });
    spender.release(first);
    const grown = MerkleTree.fromLeaves([...tree.leaves(), credentialCommitment(generateCredential())]);
    const again = await spender.spend({ account, tree: grown, request: chat('root moved'), today: TODAY + 1, reprove: true });
    expect(again.ticket).toBe(first.ticket);
    expect(again.payload).not.toBe(first.payload);
    expect(again.payload).toMatchObject({ nullifier: first.payload.nullifier, y: first.payload.y, today: TODAY + 1, root: toFieldHex(grown.root) });
    await spender.settle(again, 'served');
  });

  it('a proof that cannot be made burns its ticket, which was never sent', async () => {
    const spender = new TicketSpender(vault, async () => prover);
    const before = vault.getAccount(account.id)!;
    const elsewhere = MerkleTree.fromLeaves([credentialCommitment(generateCredential())]);
    const error = await spender.spend({ account, tree: elsewhere, request: chat('no leaf'), today: TODAY }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'leaf_not_found')).toBe(true);
    expect(vault.getAccount(account.id)).toMatchObject({ nextTicket: before.nextTicket + 1, burned: before.burned + 1, journal: before.journal });
  });

  it('after a restart the in-flight ticket is burned: the same request gets a new ticket, never the old one with another body', async () => {
    const spender = new TicketSpender(vault, async () => prover);
    const inFlight = await spender.spend({ account, tree, request: chat('restart'), today: TODAY });
    spender.release(inFlight);
    const restarted = await Vault.unlock(storage, PASS);
    const after = restarted.getAccount(account.id)!;
    expect(after.journal).toEqual([]);
    const fresh = new TicketSpender(restarted, async () => prover);
    const next = await fresh.spend({ account: after, tree, request: chat('restart'), today: TODAY });
    expect(next.ticket).toBe(after.nextTicket);
    expect(next.ticket).toBeGreaterThan(inFlight.ticket);
    expect(next.payload.nullifier).not.toBe(inFlight.payload.nullifier);
  });

  it('refuses an account that is not open before taking a ticket', async () => {
    const spender = new TicketSpender(vault, async () => prover);
    const error = await spender.spend({ account: { ...account, status: 'revoked' }, tree, request: chat('x'), today: TODAY }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'account_not_open')).toBe(true);
  });
});
