// Protocol v2 metered accounts on the test chain: open them with the real contract (openMetered),
// mirror their leaves, and act as a client lane: real metered proofs (core's buildMeteredWitness on
// the pools' bb backends), signed states checked under the on-chain key and folded into the next call.
import { randomBytes } from 'node:crypto';
import {
  FIELD_MODULUS,
  accountId,
  buildMeteredWitness,
  bytesToBigInt,
  creditPoolAbi,
  decodeSignedState,
  encodeMeteredPayload,
  laneStanding,
  meteredAccountLeaf,
  readStateKeys,
  stateCommitment,
  stateMessage,
  testTokenAbi,
  utcDay,
  verifyStateSignature,
  waitForReceipt,
  type LaneState,
  type LaneStateOpening,
  type MeteredPayload,
  type MeteredTerms,
  type MerkleTree,
  type SignedState,
  type StatePublicKey,
} from '@zkcredits/core';
import { ANVIL_KEYS } from '@zkcredits/core/node';
import { createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import type { ProofPools } from '../../src/proof/node.js';
import { chatRequestHash } from './accounts.js';
import type { TestChain } from './chain.js';

/** A metered account as its owner knows it. */
export type MeteredTestAccount = { k: bigint; id: bigint; terms: MeteredTerms; leafIndex: number };

/** The dev account that opens accounts in tests (1 buys credits, 3 slashes); flat accounts are opened from it too. */
const OPENER = 2;
const funded = new WeakSet<TestChain>();

/** Opens one metered account per entry (one `openMetered` transaction each) and appends their leaves to `tree`. */
export async function openMeteredAccounts(chain: TestChain, tree: MerkleTree, specs: readonly Omit<MeteredTerms, 'expiryDay'>[]): Promise<MeteredTestAccount[]> {
  const wallet = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[OPENER]), transport: http(chain.rpcUrl), pollingInterval: 50 });
  const send = async (hash: `0x${string}`) => {
    const receipt = await waitForReceipt(chain.client, { hash });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
  };
  if (!funded.has(chain)) {
    await send(await wallet.writeContract({ address: chain.token, abi: testTokenAbi, functionName: 'mint', args: [wallet.account.address, 10n ** 30n] }));
    await send(await wallet.writeContract({ address: chain.token, abi: testTokenAbi, functionName: 'approve', args: [chain.pool, 2n ** 256n - 1n] }));
    funded.add(chain);
  }
  const out: MeteredTestAccount[] = [];
  for (const spec of specs) {
    const k = bytesToBigInt(randomBytes(31));
    const id = accountId(k);
    const args = [BigInt(spec.dLane), BigInt(spec.lanesLog2), BigInt(spec.sLane)] as const;
    const price = await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'meteredPrice', args });
    await send(await wallet.writeContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'openMetered', args: [id, ...args, price] }));
    const [leafIndex, , expiryDay] = await chain.client.readContract({ address: chain.pool, abi: creditPoolAbi, functionName: 'accounts', args: [id] });
    const account: MeteredTestAccount = { k, id, terms: { ...spec, expiryDay: Number(expiryDay) }, leafIndex: Number(leafIndex) };
    if (account.leafIndex !== tree.size) throw new Error(`account leaf ${account.leafIndex} does not continue the mirror of ${tree.size} leaves`);
    tree.insert(meteredAccountLeaf(id, account.terms));
    out.push(account);
  }
  return out;
}

/** A proved call of a lane: the body member, and what the client journals before sending it. */
export type ProvedCall = { payload: MeteredPayload; nullifier: bigint; x: bigint; next: LaneStateOpening };

/**
 * One lane of a metered account as a client drives it: proves the next call from the lane's state,
 * and on a signed state checks it under the on-chain key before folding it in. `state` is private:
 * it goes into the next proof only, never on the wire.
 */
export class TestLane {
  state: LaneState;

  constructor(
    readonly account: MeteredTestAccount,
    lane: number,
    private readonly env: { pools: ProofPools; chain: TestChain; tree: MerkleTree },
  ) {
    this.state = { kind: 'genesis', lane };
  }

  /** Balance, penalties and next position of the lane (price units). */
  get standing(): ReturnType<typeof laneStanding> {
    return laneStanding(this.account.terms, this.state);
  }

  /** A real metered proof for `body` (and bound E2EE `headers`) from the lane's current state. Does not advance the lane. */
  async prove(body: object, options: { headers?: Record<string, string>; today?: number; from?: LaneState; stateKey?: StatePublicKey } = {}): Promise<ProvedCall> {
    const { chain, tree, pools } = this.env;
    // The key that signed the lane's state: the current one, or the previous one during its grace.
    const stateKey = options.stateKey ?? (await readStateKeys(chain.client, chain.pool)).current;
    const x = chatRequestHash(chain, body, options.headers);
    const saltNew = bytesToBigInt(randomBytes(32)) % FIELD_MODULUS;
    const { witness, next } = buildMeteredWitness({ k: this.account.k, terms: this.account.terms }, tree, options.from ?? this.state, {
      x,
      today: options.today ?? utcDay(Date.now()),
      cMax: chain.cMax,
      stateKey,
      saltNew,
    });
    const proof = await pools.verifier.pool.run((slot) => slot.run((bb) => bb.metered.prove(witness)));
    return { payload: encodeMeteredPayload(proof), nullifier: witness.nullifier, x, next };
  }

  /**
   * Checks a signed state (the wire form) for `call` under the chain's current key, as a client
   * must before trusting it, and folds it into the lane. Returns the decoded state.
   */
  async accept(call: ProvedCall, wire: unknown): Promise<SignedState> {
    const state = decodeSignedState(wire);
    if (state.nullifier !== call.nullifier) throw new Error('the state is for another call');
    const { current } = await readStateKeys(this.env.chain.client, this.env.chain.pool);
    if (!verifyStateSignature(current, stateMessage(stateCommitment(this.account.k, call.next), state.r, state.p), state.sig)) {
      throw new Error('the state does not verify under the on-chain state key');
    }
    this.state = { kind: 'signed', opening: call.next, r: state.r, p: state.p, sig: state.sig };
    return state;
  }
}

/** An SSE answer split into its events: the `data` of each, and its `event` type ('' for none). */
export function sseEvents(text: string): { type: string; data: string }[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((e) => e.trim().length > 0)
    .map((e) => {
      let type = '';
      const data: string[] = [];
      for (const line of e.split(/\r?\n/)) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { type, data: data.join('\n') };
    });
}

/** The exact cost a client computes from the usage it received and the published prices: `min(C_max, ceil((prompt·in + completion·out) / 1e6))`. */
export function expectedCost(price: { input: number; output: number }, usage: { prompt_tokens: number; completion_tokens: number }, cMax: number): number {
  const raw = (BigInt(usage.prompt_tokens) * BigInt(price.input) + BigInt(usage.completion_tokens) * BigInt(price.output) + 999_999n) / 1_000_000n;
  return Number(raw < BigInt(cMax) ? raw : BigInt(cMax));
}
