// Gas benchmark from REAL receipts on a local Anvil (depth 20, contracts deployed by the forge script).
// Part of `npm run bench` (suite `gas`); alone, with targets: `npx tsx bench/gas.ts`.
// Builds the contracts first (`forge build`: the harness below is forge output, and a fresh
// checkout has none; an up-to-date build takes a second).
//
// Metrics and method:
//   gas_poseidon2_hash2      receipt gasUsed of Poseidon2Harness.hashNode(l, r) minus that of
//                            Poseidon2Harness.baseline(l, r) (same calldata shape, no hashing)
//   gas_buy_1                receipt gasUsed of buy([c]) by a payer with balance and allowance, after one
//                            earlier purchase (nextIndex slot already non-zero)
//   gas_per_credit_batch_32  receipt gasUsed of buy(32 commitments) / 32
//   max_credits_per_tx       largest n <= MAX_BATCH whose buy(n) eth_estimateGas is <= 16,777,216
//                            (binary search; reports MAX_BATCH when even that fits)
//   gas_open_account         receipt gasUsed of openFlat(id, 100 tickets) (v2 flat account) by the same payer
//   gas_per_call_100         gas_open_account / 100: the on-chain cost of one call from that account
//   gas_per_account_batch_32 receipt gasUsed of openFlatBatch(32 accounts of 100 tickets) / 32
//   gas_slash                receipt gasUsed of slash(nf, x1, y1, x2, y2) with real shares of an open account
//                            (protocol/v2-vectors.json, written by the TypeScript core)
//   gas_open_metered         receipt gasUsed of openMetered(id, dLane 1,000,000, 4 lanes, sLane 50,000) (v2 metered
//                            account) by the same payer
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPublicClient, createWalletClient, http, maxUint256, type Abi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { creditPoolAbi, testTokenAbi, waitForReceipt } from '../packages/core/src/index.js';
import { deployContracts } from '../packages/core/src/node/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const GAS_CAP = 16_777_216n;
const P = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001n;
const OWNER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const PAYER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const PRICE = 10_000n;

/** A Foundry binary from the repository's @foundry-rs/* packages. */
const foundryBinary = (name: 'forge' | 'anvil') =>
  join(root, 'node_modules/@foundry-rs', `${name}-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`, 'bin', name);

const randomCommitments = (n: number): bigint[] =>
  Array.from({ length: n }, () => {
    const v = BigInt('0x' + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')) % P;
    return v === 0n ? 1n : v;
  });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function benchGas(): Promise<Record<string, number>> {
  execFileSync(foundryBinary('forge'), ['build', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const harness = JSON.parse(readFileSync(join(root, 'contracts/out/Poseidon2Harness.sol/Poseidon2Harness.json'), 'utf8')) as {
    abi: Abi;
    bytecode: { object: Hex };
  };

  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  // High block gas limit so that eth_estimateGas reports values above the 2^24 cap instead of failing.
  const anvil = spawn(foundryBinary('anvil'), ['--port', String(port), '--silent', '--gas-limit', '100000000'], { stdio: 'ignore' });
  try {
    const client = createPublicClient({ chain: foundry, transport: http(rpcUrl) });
    for (let i = 0; ; i++) {
      try {
        await client.getChainId();
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const owner = createWalletClient({ account: privateKeyToAccount(OWNER_KEY), chain: foundry, transport: http(rpcUrl) });
    const payer = createWalletClient({ account: privateKeyToAccount(PAYER_KEY), chain: foundry, transport: http(rpcUrl) });
    const send = async (wallet: typeof owner, request: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] }) => {
      const receipt = await waitForReceipt(client, { hash: await wallet.writeContract(request as never) });
      if (receipt.status !== 'success') throw new Error(`transaction ${request.functionName} reverted`);
      return receipt;
    };

    const { creditPool, token } = await deployContracts({
      rpcUrl,
      privateKey: OWNER_KEY,
      pricePerCredit: PRICE,
      owner: owner.account.address,
      treasury: owner.account.address,
    });

    // --- one 2-to-1 hash through a harness (forge build output of contracts/test/harness)
    const deployTx = await owner.deployContract({ abi: harness.abi, bytecode: harness.bytecode.object });
    const harnessAddress = (await waitForReceipt(client, { hash: deployTx })).contractAddress;
    if (!harnessAddress) throw new Error('the Poseidon2 harness deployment created no contract');
    const [l, r] = randomCommitments(2);
    const hashed = await send(owner, { address: harnessAddress, abi: harness.abi, functionName: 'hashNode', args: [l, r] });
    const base = await send(owner, { address: harnessAddress, abi: harness.abi, functionName: 'baseline', args: [l, r] });

    // --- purchases from a payer that already holds tokens and an allowance
    await send(owner, { address: token, abi: testTokenAbi, functionName: 'mint', args: [payer.account.address, PRICE * 1_000_000n] });
    await send(payer, { address: token, abi: testTokenAbi, functionName: 'approve', args: [creditPool, maxUint256] });
    const buy = (n: number) => send(payer, { address: creditPool, abi: creditPoolAbi, functionName: 'buy', args: [randomCommitments(n), maxUint256] });
    await buy(1); // warm-up: nextIndex and the ring cursor slot become non-zero
    const buy1 = await buy(1);
    const buy32 = await buy(32);

    // --- v2 flat accounts: one opening of 100 tickets, a batch of 32, and a slash with real shares
    const open1 = await send(payer, { address: creditPool, abi: creditPoolAbi, functionName: 'openFlat', args: [randomCommitments(1)[0]!, 100n, maxUint256] });
    const open32 = await send(payer, {
      address: creditPool,
      abi: creditPoolAbi,
      functionName: 'openFlatBatch',
      args: [randomCommitments(32), Array.from({ length: 32 }, () => 100n), maxUint256],
    });
    const vectors = JSON.parse(readFileSync(join(root, 'protocol/v2-vectors.json'), 'utf8')) as {
      slash: { id: string; tickets: number; nullifier: string; x1: string; y1: string; x2: string; y2: string }[];
    };
    const evidence = vectors.slash[0]!;
    await send(payer, { address: creditPool, abi: creditPoolAbi, functionName: 'openFlat', args: [BigInt(evidence.id), BigInt(evidence.tickets), maxUint256] });
    const slashed = await send(owner, {
      address: creditPool,
      abi: creditPoolAbi,
      functionName: 'slash',
      args: [evidence.nullifier, evidence.x1, evidence.y1, evidence.x2, evidence.y2].map(BigInt),
    });

    // --- v2 metered account: 4 lanes (the leaf is the same two permutations whatever the terms)
    const openMetered = await send(payer, {
      address: creditPool,
      abi: creditPoolAbi,
      functionName: 'openMetered',
      args: [randomCommitments(1)[0]!, 1_000_000n, 2n, 50_000n, maxUint256],
    });

    const estimate = (n: number) =>
      client.estimateContractGas({
        account: payer.account,
        address: creditPool,
        abi: creditPoolAbi,
        functionName: 'buy',
        args: [randomCommitments(n), maxUint256],
      });
    const maxBatch = Number(await client.readContract({ address: creditPool, abi: creditPoolAbi, functionName: 'maxBatch' }));
    let maxCredits: number;
    if ((await estimate(maxBatch)) <= GAS_CAP) {
      maxCredits = maxBatch;
    } else {
      let lo = 1; // fits
      let hi = maxBatch; // does not fit
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((await estimate(mid)) <= GAS_CAP) lo = mid;
        else hi = mid;
      }
      maxCredits = lo;
    }

    return {
      gas_poseidon2_hash2: Number(hashed.gasUsed - base.gasUsed),
      gas_buy_1: Number(buy1.gasUsed),
      gas_per_credit_batch_32: Math.round(Number(buy32.gasUsed) / 32),
      max_credits_per_tx: maxCredits,
      gas_open_account: Number(open1.gasUsed),
      gas_per_call_100: Math.round(Number(open1.gasUsed) / 100),
      gas_per_account_batch_32: Math.round(Number(open32.gasUsed) / 32),
      gas_slash: Number(slashed.gasUsed),
      gas_open_metered: Number(openMetered.gasUsed),
    };
  } finally {
    anvil.kill('SIGTERM');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchGas();
  const targets: Record<string, string> = {
    gas_poseidon2_hash2: '<= 25000',
    gas_buy_1: '<= 600000',
    gas_per_credit_batch_32: '<= 60000',
    max_credits_per_tx: '>= 200',
    gas_open_account: '<= 600000',
    gas_per_call_100: 'report',
    gas_per_account_batch_32: 'report',
    gas_slash: '<= 80000',
    gas_open_metered: '<= 600000',
  };
  console.table(Object.entries(results).map(([metric, value]) => ({ metric, value, target: targets[metric] })));
}
