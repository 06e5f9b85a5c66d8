/**
 * Test fixtures for the client: the server's real stack (Anvil + CreditPool, server, Venice
 * simulator) with the server's collateral route mirroring the simulator's PCS, a funded wallet,
 * a client over it, and the test-only trust of the simulator's attestation root.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyAttestationWithRoot } from '@zkcredits/attest/testing';
import { testTokenAbi, waitForReceipt } from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import type { VeniceSim } from '@zkcredits/venice-sim';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { startTestChain } from '../../server/test/helpers/chain.js';
import { E2EE_MODEL, meteredEnv, startStack, type Stack } from '../../server/test/helpers/stack.js';
import { MemoryCreditStore, ZkCreditsClient, type BuyOptions, type E2eeOptions, type FetchFn, type SpendProver, type ZkCreditsClientOptions } from '../src/index.js';

export { E2EE_MODEL, MODEL, MODEL_PRICES } from '../../server/test/helpers/stack.js';
export type { Stack };

type Mirror = { url: string; target: VeniceSim | undefined; close(): Promise<void> };

/** An HTTP pass-through to the simulator's PCS routes, set up before the simulator exists. */
async function startPcsMirror(): Promise<Mirror> {
  const mirror: Mirror = { url: '', target: undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const sim = mirror.target;
      if (!sim) return void res.writeHead(503).end();
      const url = req.url === '/root-ca-crl' ? sim.rootCaCrlUrl : `${sim.pcsUrl}${req.url}`;
      const up = await fetch(url);
      const headers: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!['content-length', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v;
      });
      res.writeHead(up.status, headers).end(Buffer.from(await up.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  mirror.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mirror.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return mirror;
}

/**
 * The server's stack, its `/v1/tee/collateral` mirroring the simulator's (test-PKI) PCS. `metered`:
 * metered calls on (the chain's state secret given to the server, a price for every model).
 */
export async function startClientStack(options: { metered?: boolean; env?: Record<string, string> } = {}): Promise<Stack & { stopAll(): Promise<void> }> {
  const mirror = await startPcsMirror();
  const chain = options.metered ? await startTestChain() : undefined;
  const env = { ZKC_TEE_PCS_URL: mirror.url, ZKC_TEE_ROOT_CA_CRL_URL: `${mirror.url}/root-ca-crl`, ...(chain ? meteredEnv(chain) : {}), ...options.env };
  const stack = await startStack('sqlite', { env, ...(chain ? { chain } : {}) });
  mirror.target = stack.sim;
  return Object.assign(stack, {
    async stopAll() {
      await stack.stop();
      await chain?.stop();
      await mirror.close();
    },
  });
}

/** TEST ONLY: verify attestations against the simulator's test root instead of Intel's. */
export function trustSim(sim: VeniceSim): E2eeOptions {
  return { verifyAttestation: (raw, options) => verifyAttestationWithRoot(raw, options, sim.attestationRootCaDer) };
}

/** A wallet (Anvil account `index`) holding plenty of the test token. */
export async function fundedWallet(stack: Stack, index: number): Promise<BuyOptions['walletClient']> {
  const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[index]!), transport: http(stack.chain.rpcUrl), pollingInterval: 50 });
  const hash = await wallet.writeContract({ address: stack.chain.token, abi: testTokenAbi, functionName: 'mint', args: [wallet.account.address, 10n ** 30n] });
  await waitForReceipt(stack.chain.client, { hash });
  return wallet;
}

/** A client of the stack's server with a memory store (unless given). */
export function clientFor(stack: Stack, prover: SpendProver, options: Partial<ZkCreditsClientOptions> = {}): ZkCreditsClient {
  return new ZkCreditsClient({
    server: stack.url,
    store: new MemoryCreditStore(),
    prover,
    chain: { publicClient: stack.chain.client },
    expect: { chainId: stack.chain.chainId, contract: stack.chain.pool },
    e2ee: trustSim(stack.sim),
    ...options,
  });
}

/** Waits until the server knows which models take E2EE (it reads the provider's list in the background). */
export async function waitModelsKnown(stack: Stack): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const body = (await (await fetch(`${stack.url}/v1/models`)).json()) as { data: { id: string; zkcredits: { e2ee: boolean | null } }[] };
    if (body.data.find((m) => m.id === E2EE_MODEL)?.zkcredits.e2ee === true) return;
    if (Date.now() > deadline) throw new Error('model capabilities never became known');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fetch that records every paid request's nullifier hash and answer status. */
export function recordingFetch(): { fetch: FetchFn; paid: { nullifierHash: string; status: number; headers: Record<string, string> }[] } {
  const paid: { nullifierHash: string; status: number; headers: Record<string, string> }[] = [];
  return {
    paid,
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && typeof init.body === 'string') {
        const body = JSON.parse(init.body) as { zkcredits?: { nullifier_hash: string } };
        if (body.zkcredits) paid.push({ nullifierHash: body.zkcredits.nullifier_hash, status: res.status, headers: { ...(init.headers as Record<string, string>) } });
      }
      return res;
    },
  };
}
