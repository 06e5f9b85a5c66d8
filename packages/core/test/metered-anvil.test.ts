// Metered accounts on a real Anvil with core's flows: opening through `openMeteredAccount(s)` (the
// record saved pending before the wallet is asked, then open with the leaf index and expiry the
// contract wrote, every lane at genesis; approve and permit paths), the payment
// `(dLane + sLane) · 2^lanesLog2 · priceUnit`, terms the contract refuses (nothing paid), the slot's
// kind, the purchase replay building the chain's tree and root with credits, flat and metered leaves,
// the deployment check of the metered constants, and `readStateKeys` through a timelocked rotation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  MerkleTree,
  accountId,
  applyPurchases,
  buyCredits,
  deriveAccountSecret,
  fetchPurchases,
  flatAccountLeaf,
  generateStateSecret,
  isZkCreditsError,
  meteredAccountLeaf,
  openAccounts,
  openMeteredAccount,
  openMeteredAccounts,
  readAccount,
  readMeteredParams,
  readStateKeys,
  statePublicKey,
  toFieldHex,
  type OpenStep,
} from '../src/index.js';
import { creditPoolAbi, testTokenAbi } from '../src/generated/abis.js';
import { waitForReceipt } from '../src/receipt.js';
import { ANVIL_KEYS, deployContracts, startAnvil, verifyDeployment, type Anvil } from '../src/node/index.js';
import { MemoryVaultStorage, Vault } from '../src/vault/index.js';

const PRICE_UNIT = 3n; // token base units per price unit: anything but 1, so the formula shows
const C_MAX = 40_000;
const TTL_DAYS = 30;
const DELAY = 86_400;
const GRACE = 7 * 86_400;
const PASS = 'correct horse battery';

describe('metered accounts on Anvil', () => {
  let anvil: Anvil;
  let pool: Address;
  let token: Address;
  let deploymentBlock: bigint;
  const stateSecret = generateStateSecret();
  const publicClient = () => createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
  const wallet = (i: number) => createWalletClient({ account: privateKeyToAccount(ANVIL_KEYS[i]!), chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const balance = (i: number) => publicClient().readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [wallet(i).account.address] });
  const common = () => ({ publicClient: publicClient(), pool, chainId: foundry.id });
  const send = async (i: number, functionName: 'proposeStateKey' | 'activateStateKey', args: readonly bigint[] = []) => {
    const hash = await wallet(i).writeContract({ address: pool, abi: creditPoolAbi, functionName, args } as never);
    return waitForReceipt(publicClient(), { hash });
  };
  const rpc = (method: string, params: unknown[] = []) => publicClient().request({ method: method as never, params: params as never });
  const replay = async () => {
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client: publicClient(), address: pool, fromBlock: deploymentBlock, toBlock: await publicClient().getBlockNumber({ cacheTime: 0 }) }));
    return tree;
  };

  beforeAll(async () => {
    anvil = await startAnvil();
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    ({ creditPool: pool, token, deploymentBlock } = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_KEYS[0],
      pricePerCredit: 250_000n,
      pricePerTicket: 1_000n,
      ttlDays: TTL_DAYS,
      priceUnit: PRICE_UNIT,
      cMax: C_MAX,
      stateSecret,
      stateKeyDelay: DELAY,
      stateKeyGrace: GRACE,
      owner,
      treasury: owner,
    }));
    for (const i of [1, 2]) {
      const hash = await wallet(0).writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [wallet(i).account.address, 10n ** 15n] });
      await waitForReceipt(publicClient(), { hash });
    }
  }, 300_000);
  afterAll(async () => {
    await anvil?.stop();
  });

  it('the deployment pins the metered constants and the state key asked for', async () => {
    expect(await readMeteredParams(publicClient(), pool)).toEqual({ priceUnit: PRICE_UNIT, cMax: C_MAX });
    expect(await readStateKeys(publicClient(), pool)).toEqual({ current: statePublicKey(stateSecret) });
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    const expected = {
      token,
      pricePerCredit: 250_000n,
      owner,
      treasury: owner,
      deploymentBlock,
      metered: { priceUnit: PRICE_UNIT, cMax: C_MAX, stateKey: statePublicKey(stateSecret), stateKeyDelay: DELAY, stateKeyGrace: GRACE },
    };
    await verifyDeployment(publicClient(), pool, expected);
    const other = await verifyDeployment(publicClient(), pool, { ...expected, metered: { ...expected.metered, stateKey: statePublicKey(stateSecret + 1n), cMax: C_MAX + 1 } }).catch((e: unknown) => e);
    expect(isZkCreditsError(other, 'contract_error')).toBe(true);
    expect((other as { details?: string }).details).toMatch(/cMax 40000, expected 40001; the state key differs/);
  });

  it('opens a metered account with approve + openMetered: pending before the wallet is asked, then open with the terms the contract wrote', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const seen: { step: OpenStep; statuses: string[] }[] = [];
    const terms = { dLane: 100_000, lanesLog2: 2, sLane: 5_000 };
    const before = await balance(1);
    const record = await openMeteredAccount({
      ...common(),
      store: vault,
      walletClient: wallet(1),
      terms,
      permit: false,
      onStep: (step) => void seen.push({ step, statuses: vault.meteredAccounts().map((a) => a.status) }),
    });
    expect(seen.map((s) => s.step)).toEqual(['derive', 'save', 'approve', 'send', 'confirm', 'done']);
    expect(seen.find((s) => s.step === 'approve')!.statuses).toEqual(['pending']); // stored before the wallet was asked
    const day = Number(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentDay' }));
    const k = deriveAccountSecret(await vault.masterSecret(), 0);
    expect(record).toMatchObject({ kind: 'metered', status: 'open', index: 0, ...terms, cMax: C_MAX, priceUnit: '3', expiryDay: day + TTL_DAYS, accountId: toFieldHex(accountId(k)), secret: toFieldHex(k) });
    expect(record.token).toEqual({ decimals: 6, symbol: 'tUSD' });
    expect(record.lanes).toEqual(Array.from({ length: 4 }, () => ({ state: { kind: 'genesis' } })));
    expect(record.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(before - (await balance(1))).toBe((100_000n + 5_000n) * 4n * PRICE_UNIT);
    expect(await readAccount(publicClient(), pool, accountId(k))).toEqual({ leafIndex: record.leafIndex, tickets: 0, expiryDay: record.expiryDay, status: 1, kind: 2 });

    // The leaf the contract computed is where the record says, in the tree replayed from the chain.
    const tree = await replay();
    expect(tree.root).toBe(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentRoot' }));
    expect(tree.indexOf(meteredAccountLeaf(accountId(k), { ...terms, expiryDay: record.expiryDay! }))).toBe(record.leafIndex);
  });

  it('shares the tree and the index space with credits and flat accounts; the permit path; replay reaches the chain root', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const steps: OpenStep[] = [];
    await buyCredits({ publicClient: publicClient(), walletClient: wallet(2), pool, commitments: [11n, 12n], approve: 'unlimited' });
    const [flat] = await openAccounts({ ...common(), store: vault, walletClient: wallet(2), tickets: [3] });
    const before = await balance(2);
    const metered = await openMeteredAccounts({
      ...common(),
      store: vault,
      walletClient: wallet(2),
      permit: true,
      accounts: [
        { dLane: C_MAX, lanesLog2: 0, sLane: 1 },
        { dLane: 2 ** 40 - 1, lanesLog2: 3, sLane: 2 ** 40 - 1 },
      ],
      onStep: (s) => void steps.push(s),
    });
    expect(steps).toEqual(['derive', 'save', 'sign', 'send', 'confirm', 'done', 'derive', 'save', 'sign', 'send', 'confirm', 'done']);
    expect([flat!.index, ...metered.map((r) => r.index)]).toEqual([0, 1, 2]); // one index space
    expect(metered.map((r) => r.status)).toEqual(['open', 'open']);
    expect(before - (await balance(2))).toBe(((BigInt(C_MAX) + 1n) * 1n + (2n * (2n ** 40n - 1n)) * 8n) * PRICE_UNIT);

    const tree = await replay();
    expect(tree.root).toBe(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentRoot' }));
    expect(tree.size).toBe(Number(await publicClient().readContract({ address: pool, abi: creditPoolAbi, functionName: 'nextIndex' })));
    expect(tree.indexOf(flatAccountLeaf(BigInt(flat!.accountId), 3, flat!.expiryDay!))).toBe(flat!.leafIndex);
    for (const r of metered) {
      expect(tree.indexOf(meteredAccountLeaf(BigInt(r.accountId), { dLane: r.dLane, lanesLog2: r.lanesLog2, sLane: r.sLane, expiryDay: r.expiryDay! }))).toBe(r.leafIndex);
    }
    const kinds = (await fetchPurchases({ client: publicClient(), address: pool, fromBlock: deploymentBlock, toBlock: await publicClient().getBlockNumber({ cacheTime: 0 }) })).map((p) => p.kind);
    expect(kinds.slice(-4)).toEqual(['credits', 'accounts', 'metered', 'metered']);
  });

  it('terms the contract refuses are refused before anything is paid, and the account is abandoned', async () => {
    const vault = await Vault.create(new MemoryVaultStorage(), PASS);
    const before = await balance(1);
    const error = await openMeteredAccount({ ...common(), store: vault, walletClient: wallet(1), terms: { dLane: C_MAX - 1, lanesLog2: 0, sLane: 1 } }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'opening_failed')).toBe(true);
    expect((error as Error).message).toContain('Nothing was paid');
    expect((error as { details?: string }).details).toMatch(/InvalidLaneDeposit\(39999, 40000\)/);
    expect(vault.meteredAccounts().map((a) => a.status)).toEqual(['abandoned']);
    expect(await balance(1)).toBe(before);

    const outOfRange = await openMeteredAccount({ ...common(), store: vault, walletClient: wallet(1), terms: { dLane: C_MAX, lanesLog2: 4, sLane: 1 } }).catch((e: unknown) => e);
    expect(isZkCreditsError(outOfRange, 'invalid_request')).toBe(true);
    expect(vault.meteredAccounts()).toHaveLength(1); // nothing stored for terms out of range
  });

  it('readStateKeys follows a rotation: pending after the proposal, current and previous with its grace after the activation', async () => {
    const next = statePublicKey(generateStateSecret());
    const proposal = await send(0, 'proposeStateKey', [next.x, next.y]);
    const proposedAt = Number((await publicClient().getBlock({ blockNumber: proposal.blockNumber })).timestamp);
    expect(await readStateKeys(publicClient(), pool)).toEqual({ current: statePublicKey(stateSecret), pending: { key: next, activatesAt: proposedAt + DELAY } });

    // Too early: the simulation names the timelock.
    const early = await publicClient()
      .simulateContract({ account: wallet(1).account, address: pool, abi: creditPoolAbi, functionName: 'activateStateKey' })
      .catch((e: unknown) => e);
    expect(String((early as Error).message)).toMatch(/StateKeyTimelocked/);

    await rpc('evm_increaseTime', [DELAY]);
    await rpc('evm_mine');
    const activation = await send(1, 'activateStateKey'); // anyone
    const activatedAt = Number((await publicClient().getBlock({ blockNumber: activation.blockNumber })).timestamp);
    expect(activatedAt).toBeGreaterThanOrEqual(proposedAt + DELAY);
    expect(await readStateKeys(publicClient(), pool)).toEqual({ current: next, previous: { key: statePublicKey(stateSecret), validUntil: activatedAt + GRACE } });
  });
});
