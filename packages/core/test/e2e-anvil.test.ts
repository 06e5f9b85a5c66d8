// End to end on a real Anvil: deploy with the forge script, buy credits from two accounts
// (approve path and permit path), rebuild the tree from events, prove and verify a spend
// against the on-chain root, and check the negative cases; the purchase flow's steps and
// buyer protection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import {
  MerkleTree,
  ProofError,
  applyPurchases,
  buildSpendWitness,
  buyCredits,
  credentialCommitment,
  decodePurchases,
  fetchPurchases,
  generateCredential,
  isZkCreditsError,
  requestHash,
  sendPurchase,
  type BuyStep,
  type Credential,
} from '../src/index.js';
import { creditPoolAbi, testTokenAbi } from '../src/generated/abis.js';
import type { CreditProver } from '../src/prover/index.js';
import { waitForReceipt } from '../src/receipt.js';
import { ANVIL_KEYS, createNodeProver, deployContracts, startAnvil, type Anvil } from '../src/node/index.js';

const PRICE = 250_000n; // 0.25 of a 6-decimals token per credit

describe('protocol end to end on Anvil', () => {
  let anvil: Anvil;
  let prover: CreditProver;
  let pool: Address;
  let token: Address;
  let deploymentBlock: bigint;
  const publicClient = () => createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const wallet = (i: number) =>
    createWalletClient({ account: privateKeyToAccount(ANVIL_KEYS[i]!), chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 });
  const bought: { credential: Credential; buyer: number }[] = [];

  beforeAll(async () => {
    [anvil, prover] = await Promise.all([startAnvil(), createNodeProver()]);
    const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
    ({ creditPool: pool, token, deploymentBlock } = await deployContracts({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_KEYS[0],
      pricePerCredit: PRICE,
      owner,
      treasury: owner,
    }));
    for (const i of [1, 2]) {
      const hash = await wallet(0).writeContract({
        address: token,
        abi: testTokenAbi,
        functionName: 'mint',
        args: [wallet(i).account.address, 1_000_000_000n],
      });
      await waitForReceipt(publicClient(), { hash });
    }
  });

  afterAll(async () => {
    await prover?.destroy();
    await anvil?.stop();
  });

  it('sells credits for the token via approve + buy and via a single permit transaction', async () => {
    const client = publicClient();
    const balanceBefore = await client.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [pool] });

    const a = Array.from({ length: 3 }, generateCredential);
    const r1 = await buyCredits({ publicClient: client, walletClient: wallet(1), pool, commitments: a.map(credentialCommitment) });
    expect(r1.startIndex).toBe(0);
    expect(r1.amountPaid).toBe(3n * PRICE);
    a.forEach((credential) => bought.push({ credential, buyer: 1 }));

    const b = Array.from({ length: 2 }, generateCredential);
    const r2 = await buyCredits({ publicClient: client, walletClient: wallet(2), pool, commitments: b.map(credentialCommitment), permit: true });
    expect(r2.startIndex).toBe(3);
    b.forEach((credential) => bought.push({ credential, buyer: 2 }));
    // the permit path needs no prior approval transaction
    expect(await client.readContract({ address: token, abi: testTokenAbi, functionName: 'allowance', args: [wallet(2).account.address, pool] })).toBe(0n);

    const balanceAfter = await client.readContract({ address: token, abi: testTokenAbi, functionName: 'balanceOf', args: [pool] });
    expect(balanceAfter - balanceBefore).toBe(5n * PRICE);
  });

  it('rebuilds the on-chain tree from events, for random batch sizes too', async () => {
    const client = publicClient();
    for (const size of [1 + Math.floor(Math.random() * 40), 1 + Math.floor(Math.random() * 7)]) {
      const more = Array.from({ length: size }, generateCredential);
      await buyCredits({ publicClient: client, walletClient: wallet(1), pool, commitments: more.map(credentialCommitment) });
      more.forEach((credential) => bought.push({ credential, buyer: 1 }));
    }
    const toBlock = await client.getBlockNumber({ cacheTime: 0 });
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client, address: pool, fromBlock: deploymentBlock, toBlock }));
    expect(tree.size).toBe(bought.length);
    expect(tree.root).toBe(await client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'currentRoot' }));
    expect(BigInt(tree.size)).toBe(await client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'nextIndex' }));
  });

  it('proves a spend against the on-chain root, and refuses every forgery', async () => {
    const client = publicClient();
    const tree = new MerkleTree();
    applyPurchases(tree, await fetchPurchases({ client, address: pool, fromBlock: deploymentBlock, toBlock: await client.getBlockNumber({ cacheTime: 0 }) }));
    const { credential } = bought[4]!; // bought by account 2 with a permit
    const body = { model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'hello' }] };
    const rh = requestHash({ chainId: foundry.id, contract: pool, method: 'POST', path: '/v1/chat/completions', body });
    const witness = buildSpendWitness(credential, tree, rh);
    const proof = await prover.prove(witness);

    expect(await client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'isKnownRoot', args: [proof.publicInputs.root] })).toBe(true);
    expect(await prover.verify(proof)).toBe(true);

    const otherBody = requestHash({ chainId: foundry.id, contract: pool, method: 'POST', path: '/v1/chat/completions', body: { ...body, max_tokens: 4096 } });
    const otherChain = requestHash({ chainId: 8453, contract: pool, method: 'POST', path: '/v1/chat/completions', body });
    const forged = [
      { ...proof.publicInputs, requestHash: otherBody },
      { ...proof.publicInputs, requestHash: otherChain },
      { ...proof.publicInputs, root: tree.root + 1n },
      { ...proof.publicInputs, nullifierHash: proof.publicInputs.nullifierHash + 1n },
    ];
    for (const publicInputs of forged) expect(await prover.verify({ proof: proof.proof, publicInputs })).toBe(false);
    const tampered = proof.proof.slice();
    tampered[64] = tampered[64]! ^ 0x80;
    expect(await prover.verify({ ...proof, proof: tampered })).toBe(false);

    const siblings = witness.siblings.slice();
    siblings[3] = siblings[3]! + 1n;
    await expect(prover.prove({ ...witness, siblings })).rejects.toThrow(ProofError);
    const stranger = generateCredential();
    expect(() => buildSpendWitness(stranger, tree, rh)).toThrow(/not in the tree/);
  });

  it('decodes a purchase from its receipt exactly as eth_getLogs returns it', async () => {
    const client = publicClient();
    const commitments = [generateCredential(), generateCredential()].map(credentialCommitment);
    const { transactionHash } = await sendPurchase({ publicClient: client, walletClient: wallet(2), pool, commitments, permit: true });
    const receipt = await waitForReceipt(client, { hash: transactionHash });
    const fromReceipt = decodePurchases(receipt.logs, pool);
    expect(fromReceipt).toHaveLength(1);
    expect(fromReceipt[0]!.commitments).toEqual(commitments);
    expect(fromReceipt[0]!.transactionHash).toBe(transactionHash);
    expect(await fetchPurchases({ client, address: pool, fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber })).toEqual(fromReceipt);
  });

  it.each([
    ['approve + buy', 1, false, ['approve', 'send'], 2],
    ['a permit', 2, true, ['sign', 'send'], 1],
  ] as const)('with %s, announces each step before the wallet is asked for it, then returns once sent', async (_label, buyer, permit, steps, transactions) => {
    const client = publicClient();
    const address = wallet(buyer).account.address;
    const nonce = () => client.getTransactionCount({ address, blockTag: 'pending' });
    const start = await nonce();
    const seen: [BuyStep, number][] = [];
    const commitments = [generateCredential()].map(credentialCommitment);
    const { transactionHash } = await sendPurchase({
      publicClient: client,
      walletClient: wallet(buyer),
      pool,
      commitments,
      permit,
      onStep: async (step) => void seen.push([step, (await nonce()) - start]),
    });
    // 'approve' comes before the approval is sent; 'send' after it, before the purchase is.
    expect(seen).toEqual(steps.map((step, i) => [step, permit ? 0 : i]));
    expect((await nonce()) - start).toBe(transactions);
    expect((await waitForReceipt(client, { hash: transactionHash })).status).toBe('success');
  });

  it('sends nothing when a step hook fails (a buyer that could not save its credentials)', async () => {
    const client = publicClient();
    const address = wallet(1).account.address;
    const start = await client.getTransactionCount({ address, blockTag: 'pending' });
    const failure = new Error('vault is locked');
    await expect(
      sendPurchase({
        publicClient: client,
        walletClient: wallet(1),
        pool,
        commitments: [credentialCommitment(generateCredential())],
        onStep: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(await client.getTransactionCount({ address, blockTag: 'pending' })).toBe(start);
  });

  it('refuses a price above the buyer\'s maximum by name (PriceAboveMax) before anything is sent', async () => {
    const client = publicClient();
    const address = wallet(2).account.address;
    const start = await client.getTransactionCount({ address, blockTag: 'pending' });
    // A quote one unit below the real price: maxTotal is what the buyer agreed to, the contract wants more.
    const error = await sendPurchase({
      publicClient: client,
      walletClient: wallet(2),
      pool,
      commitments: [credentialCommitment(generateCredential())],
      permit: true,
      quote: { token, price: PRICE - 1n },
    }).catch((e: unknown) => e);
    expect(isZkCreditsError(error, 'contract_error')).toBe(true);
    expect((error as Error).message).toBe(`contract reverted: PriceAboveMax(${PRICE}, ${PRICE - 1n})`);
    expect(await client.getTransactionCount({ address, blockTag: 'pending' })).toBe(start);
  });
});
