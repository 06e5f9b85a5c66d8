// Opening flat accounts on a real Anvil with core's one flow: the records are saved pending before
// the wallet is asked for anything, then open with the leaf index and expiry the contract wrote;
// single (approve + openFlat) and batched (one permit-signed openFlatWithPermit) openings; a refused
// opening is abandoned with nothing paid; indices already open on chain are never reused; and a
// ticket of an opened account proves against the tree replayed from the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  CHAT_PATH,
  MerkleTree,
  TicketSpender,
  accountId,
  applyPurchases,
  decodeTicketPayload,
  deriveAccountSecret,
  fetchPurchases,
  flatAccountLeaf,
  isZkCreditsError,
  openAccounts,
  readAccount,
  requestHash,
  toFieldHex,
  type OpenStep,
} from '../src/index.js';
import { creditPoolAbi, testTokenAbi } from '../src/generated/abis.js';
import type { TicketProver } from '../src/prover/index.js';
import { waitForReceipt } from '../src/receipt.js';
import { ANVIL_KEYS, createNodeTicketProver, deployContracts, startAnvil, type Anvil } from '../src/node/index.js';
import { MemoryVaultStorage, Vault } from '../src/vault/index.js';

const PRICE_PER_TICKET = 1_000n;
const TTL_DAYS = 30;
const PASS = 'correct horse battery';

describe('opening flat accounts on Anvil', () => {
  let anvil: Anvil;
  let prover: TicketProver;
  let pool: Address;
  let token: Address;
  let deploymentBlock: bigint;
  const publicClient = () => createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const wallet = (i: number) => createWalletClient({ account: privateKeyToAccount(ANVIL_KEYS[i]!), chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const balance = (i: number) => publicClient().readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [wallet(i).account.address] });
  const common = () => ({ publicClient: publicClient(), pool, chainId: foundry.id });

  beforeAll(async () => {
    [anvil, prover] = await Promise.all([startAnvil(), createNodeTicketProver()]);
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    ({ creditPool: pool, token, deploymentBlock } = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_KEYS[0],
      pricePerCredit: 250_000n,
      pricePerTicket: PRICE_PER_TICKET,
      ttlDays: TTL_DAYS,
      owner,
      treasury: owner,
    }));
    for (const i of [1, 2]) {
      const hash = await wallet(0).writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [wallet(i).account.address, 1_000_000_000n] });
      await waitForReceipt(publicClient(), { hash });
    }
  });
  afterAll(async () => {
    await prover?.destroy();
    await anvil?.stop();
  });

  it('opens one account with approve + openFlat: pending before the wallet is asked, then open with the terms the contract wrote', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const seen: { step: OpenStep; statuses: string[] }[] = [];
    const before = await balance(1);
    const [record] = await openAccounts({
      ...common(),
      store: vault,
      walletClient: wallet(1),
      tickets: [5],
      permit: false,
      onStep: (step) => void seen.push({ step, statuses: vault.accounts().map((a) => a.status) }),
    });
    expect(seen.map((s) => s.step)).toEqual(['derive', 'save', 'approve', 'send', 'confirm', 'done']);
    // Nothing was asked of the wallet before the record was stored.
    expect(seen.find((s) => s.step === 'approve')!.statuses).toEqual(['pending']);
    const day = Number(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentDay' }));
    const k = deriveAccountSecret(await vault.masterSecret(), 0);
    expect(record).toMatchObject({ status: 'open', index: 0, tickets: 5, expiryDay: day + TTL_DAYS, accountId: toFieldHex(accountId(k)), secret: toFieldHex(k), nextTicket: 0 });
    expect(record!.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(before - (await balance(1))).toBe(5n * PRICE_PER_TICKET);
    expect(await readAccount(publicClient(), pool, accountId(k))).toEqual({ leafIndex: record!.leafIndex, tickets: 5, expiryDay: record!.expiryDay, status: 1, kind: 1 });

    // The leaf the contract computed is where the record says, in the tree replayed from the chain.
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client: publicClient(), address: pool, fromBlock: deploymentBlock, toBlock: await publicClient().getBlockNumber({ cacheTime: 0 }) }));
    expect(tree.indexOf(flatAccountLeaf(accountId(k), 5, record!.expiryDay!))).toBe(record!.leafIndex);

    // A ticket of it proves against that tree and verifies under the pinned key.
    const spender = new TicketSpender(vault, async () => prover);
    const request = { method: 'POST', path: CHAT_PATH, body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } };
    const spend = await spender.spend({ account: record!, tree, request, today: day });
    const decoded = decodeTicketPayload(spend.payload);
    const x = requestHash({ ...request, chainId: foundry.id, contract: pool });
    expect(await prover.verify({ proof: decoded.proof, publicInputs: { ...decoded.publicInputs, x } })).toBe(true);
    expect(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'isKnownRoot', args: [decoded.publicInputs.root] })).toBe(true);
  });

  it('opens a batch with one permit-signed transaction; the next indices follow the ones the vault holds', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const steps: OpenStep[] = [];
    const first = await openAccounts({ ...common(), store: vault, walletClient: wallet(2), tickets: [2] });
    const batch = await openAccounts({ ...common(), store: vault, walletClient: wallet(2), tickets: [3, 7], onStep: (s) => void steps.push(s) });
    expect(steps).toEqual(['derive', 'save', 'sign', 'send', 'confirm', 'done']);
    expect([first[0]!.index, ...batch.map((r) => r.index)]).toEqual([0, 1, 2]);
    expect(batch.map((r) => [r.status, r.tickets])).toEqual([
      ['open', 3],
      ['open', 7],
    ]);
    expect(batch[1]!.leafIndex).toBe(batch[0]!.leafIndex! + 1);
    expect(batch[0]!.txHash).toBe(batch[1]!.txHash);
  });

  it('an opening refused before it is sent leaves the account abandoned and nothing paid', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const before = await balance(1);
    const error = await openAccounts({ ...common(), store: vault, walletClient: wallet(1), tickets: [4], maxTotal: 4n * PRICE_PER_TICKET - 1n }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'opening_failed')).toBe(true);
    expect((error as Error).message).toContain('Nothing was paid');
    expect(vault.accounts().map((a) => a.status)).toEqual(['abandoned']);
    expect(await balance(1)).toBe(before);
    // Its index is never reused: the next opening takes the one after it.
    const [next] = await openAccounts({ ...common(), store: vault, walletClient: wallet(1), tickets: [1] });
    expect(next!.index).toBe(1);
  });

  it('a copy of the vault that lacks the records never reuses an index already open on chain', async () => {
    const original = await Vault.create(new MemoryVaultStorage(), PASS);
    const master = await original.masterSecret();
    const earlyBackup = original.exportBackup(); // the master, no account yet
    await openAccounts({ ...common(), store: original, walletClient: wallet(1), tickets: [1, 1] });
    // Restored from that backup: indices 0 and 1 are taken on chain, unknown to the copy.
    const copy = await Vault.restore(new MemoryVaultStorage(), earlyBackup, PASS);
    expect(await copy.masterSecret()).toBe(master);
    const [record] = await openAccounts({ ...common(), store: copy, walletClient: wallet(1), tickets: [1] });
    expect(record!.index).toBe(2);
  });
});
