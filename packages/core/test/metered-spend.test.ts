// MeteredSpender over a real vault with real metered proofs; the test plays the server's part with
// the deployment's real state key (core's signState): L lanes in flight at once, the (L+1)-th call
// waits for a lane's state (asserted on states and promises, never on time), a signed state becomes
// the lane's state and the next proof folds its refund in, a state under another key is refused, the
// journal survives a crash (a vault reopened with a pending lane recovers it through the state
// question for exactly that nullifier), and a backup carries the lanes (version 3).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MerkleTree,
  MeteredSpender,
  accountId,
  credentialCommitment,
  decodeMeteredPayload,
  deriveAccountSecret,
  encodeSignedState,
  generateCredential,
  generateStateSecret,
  isZkCreditsError,
  meteredAccountLeaf,
  meteredBalance,
  meteredNullifier,
  signState,
  stateCommitment,
  stateMessage,
  statePublicKey,
  toFieldHex,
  type FetchedState,
  type MeteredCall,
  type MeteredDeployment,
  type MeteredProverLike,
} from '../src/index.js';
import type { MeteredProver } from '../src/prover/index.js';
import { createNodeMeteredProver } from '../src/node/index.js';
import { MemoryVaultStorage, Vault, genesisLanes, readBackupContents, type MeteredAccountRecord } from '../src/vault/index.js';

const PASS = 'correct horse battery';
const CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const TODAY = 20_450;
const C_MAX = 50_000;
const TERMS = { dLane: 120_000, lanesLog2: 1, sLane: 10_000, expiryDay: TODAY + 30 };

/** Waits until `ready()` holds, yielding to the event loop between looks (a state, not a duration). */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; !ready(); i++) {
    if (i > 100_000) throw new Error('the state was never reached');
    await new Promise((r) => setImmediate(r));
  }
}

describe('MeteredSpender (real metered proofs, the deployment key played by the test)', () => {
  let prover: MeteredProver;
  let storage: MemoryVaultStorage;
  let vault: Vault;
  let account: MeteredAccountRecord;
  let tree: MerkleTree;
  const sk = generateStateSecret();
  const deployment: MeteredDeployment = { cMax: C_MAX, stateKeys: { current: statePublicKey(sk) } };
  let proofs = 0;
  const counting = (): MeteredProverLike => ({ prove: (w) => (proofs++, prover.prove(w)) });

  /** The server's part: the signed state of `call` with refund `r` (and penalty `p`). */
  const stateFor = (call: MeteredCall, r: number, p = 0, key = sk) =>
    encodeSignedState({ nullifier: call.nullifier, r, p, sig: signState(key, stateMessage(decodeMeteredPayload(call.payload).publicInputs.cmNew, r, p)) });

  const spenderOver = (v: Vault, fetchState?: (nf: bigint) => Promise<FetchedState>) =>
    new MeteredSpender({ store: v, prover: async () => counting(), deployment: async () => deployment, ...(fetchState ? { fetchState } : {}) });

  beforeAll(async () => {
    prover = await createNodeMeteredProver();
    storage = new MemoryVaultStorage();
    vault = await Vault.create(storage, PASS);
    const k = deriveAccountSecret(await vault.masterSecret(), 0);
    account = {
      id: '2'.repeat(32),
      kind: 'metered',
      accountId: toFieldHex(accountId(k)),
      secret: toFieldHex(k),
      index: 0,
      status: 'open',
      chainId: 31337,
      contract: CONTRACT,
      dLane: TERMS.dLane,
      lanesLog2: TERMS.lanesLog2,
      sLane: TERMS.sLane,
      cMax: C_MAX,
      priceUnit: '1000000000000',
      expiryDay: TERMS.expiryDay,
      leafIndex: 1,
      fromBlock: '1',
      lanes: genesisLanes(TERMS.lanesLog2),
      createdAt: 1,
    };
    await vault.addMeteredAccounts([account]);
    tree = MerkleTree.fromLeaves([credentialCommitment(generateCredential()), meteredAccountLeaf(accountId(k), TERMS)]);
  });
  afterAll(async () => {
    await prover?.destroy();
  });

  it('runs L calls at once, one per lane; the (L+1)-th waits for a lane whose signed state then carries its refund into the next proof', async () => {
    const spender = spenderOver(vault);
    const k = BigInt(account.secret);
    const [a, b] = await Promise.all([1n, 2n].map((x) => spender.spend({ account, tree, x, today: TODAY })));
    expect(new Set([a!.lane, b!.lane])).toEqual(new Set([0, 1]));
    expect(spender.busyLanes(account.id)).toEqual([0, 1]);
    // Journaled before the payloads were handed out: both lanes pending, position 0, C_max taken.
    const stored = vault.getMeteredAccount(account.id)!;
    for (const call of [a!, b!]) {
      expect(stored.lanes[call.lane]!.pending).toMatchObject({ nullifier: toFieldHex(meteredNullifier(k, call.lane, 0)), x: toFieldHex(call.x), next: { n: 1, balance: TERMS.dLane - C_MAX } });
      expect(call.payload).toMatchObject({ v: 2, kind: 'metered', nullifier: toFieldHex(call.nullifier), today: TODAY, root: toFieldHex(tree.root) });
    }
    expect(meteredBalance(stored, { cMax: C_MAX, priceUnit: 10n ** 12n })).toMatchObject({ priceUnits: 2 * (TERMS.dLane - C_MAX), pending: 2, callsAtCmax: 2 });

    // Both lanes are in flight: the third call waits, unproved.
    let third: MeteredCall | undefined;
    const waiting = spender.spend({ account, tree, x: 3n, today: TODAY }).then((c) => (third = c));
    await until(() => spender.waiting(account.id) === 1);
    expect(third).toBeUndefined();
    expect(proofs).toBe(2);

    // Lane a's state comes back (cost 12,345 units): the third call takes lane a, at position 1.
    const settled = await spender.settle(a!, stateFor(a!, C_MAX - 12_345));
    expect(settled).toMatchObject({ lane: a!.lane, r: C_MAX - 12_345, p: 0, cost: 12_345 });
    await waiting;
    expect(third!.lane).toBe(a!.lane);
    expect(third!.nullifier).toBe(meteredNullifier(k, a!.lane, 1));
    // The refund is folded into the proof, privately: the new opening holds it, the payload does not.
    expect(third!.next).toMatchObject({ n: 2, balance: TERMS.dLane - 12_345 - C_MAX });
    const wire = JSON.stringify(third!.payload);
    const prior = settled.record.lanes[a!.lane]!.state;
    if (prior.kind !== 'signed') throw new Error('lane a should hold a signed state');
    for (const secret of [prior.sig.rx, prior.sig.ry, prior.sig.s, prior.opening.salt, a!.payload.cm_new]) expect(wire).not.toContain(secret.slice(2));
    expect(Object.keys(third!.payload).sort()).toEqual(['cm_new', 'kind', 'nullifier', 'proof', 'root', 'today', 'v', 'y']);

    await spender.settle(b!, stateFor(b!, C_MAX));
    await spender.settle(third!, stateFor(third!, C_MAX - 1_000));
    const after = meteredBalance(vault.getMeteredAccount(account.id)!, { cMax: C_MAX, priceUnit: 10n ** 12n });
    expect(after).toMatchObject({ priceUnits: 2 * TERMS.dLane - 12_345 - 1_000, pending: 0, callsAtCmax: 2 + 2 });
    expect(after.money).toBe(BigInt(2 * TERMS.dLane - 13_345) * 10n ** 12n);
    expect(spender.busyLanes(account.id)).toEqual([]);
  });

  it('refuses a state signed under any other key, or for another call; the lane stays pending', async () => {
    const spender = spenderOver(vault);
    const call = await spender.spend({ account, tree, x: 4n, today: TODAY });
    const other = generateStateSecret();
    const refused = await spender.settle(call, stateFor(call, C_MAX, 0, other)).catch((e: unknown) => e);
    expect(isZkCreditsError(refused, 'state_signature_invalid')).toBe(true);
    const tooMuch = await spender.settle(call, stateFor(call, C_MAX + 1)).catch((e: unknown) => e);
    expect(isZkCreditsError(tooMuch, 'state_mismatch')).toBe(true);
    expect(vault.getMeteredAccount(account.id)!.lanes[call.lane]!.pending?.nullifier).toBe(toFieldHex(call.nullifier));
    // The valid state still settles it.
    await spender.settle(call, stateFor(call, C_MAX - 10));
    expect(vault.getMeteredAccount(account.id)!.lanes[call.lane]!.pending).toBeUndefined();
  });

  it('the journal survives a crash: the reopened vault asks for exactly the pending nullifier, commits its state, and the lane goes on', async () => {
    const spender = spenderOver(vault);
    const call = await spender.spend({ account, tree, x: 5n, today: TODAY });
    const signed = stateFor(call, C_MAX - 777);
    vault.lock(); // the process ends before the answer arrived

    const reopened = await Vault.unlock(storage, PASS);
    const pending = reopened.getMeteredAccount(account.id)!.lanes[call.lane]!.pending!;
    expect(pending).toMatchObject({ nullifier: toFieldHex(call.nullifier), x: toFieldHex(5n), next: { n: call.next.n, salt: toFieldHex(call.next.salt) } });
    // A backup made now carries the lane journal (version 3).
    const backup = await readBackupContents(reopened.exportBackup(), PASS);
    expect(JSON.parse(reopened.exportBackup())).toMatchObject({ version: 3 });
    expect(backup.metered?.[0]?.lanes[call.lane]?.pending?.nullifier).toBe(toFieldHex(call.nullifier));

    const asked: bigint[] = [];
    let answer: FetchedState = { status: 'pending', retryAfter: 1 };
    const restarted = spenderOver(reopened, async (nf) => (asked.push(nf), answer));
    expect(await restarted.recover()).toEqual([{ account: account.id, lane: call.lane, outcome: 'pending', retryAfter: 1 }]);
    answer = { status: 'signed', state: signed };
    expect(await restarted.recover()).toEqual([{ account: account.id, lane: call.lane, outcome: 'committed' }]);
    expect(asked).toEqual([call.nullifier, call.nullifier]);
    const lane = reopened.getMeteredAccount(account.id)!.lanes[call.lane]!;
    expect(lane.pending).toBeUndefined();
    expect(lane.state).toMatchObject({ kind: 'signed', r: C_MAX - 777, opening: { n: call.next.n } });
    // Nothing pending: recovery asks nothing.
    expect(await restarted.recover()).toEqual([]);
    expect(asked).toHaveLength(2);

    const next = await restarted.spend({ account, tree, x: 6n, today: TODAY });
    expect(stateCommitment(BigInt(account.secret), next.next)).toBe(decodeMeteredPayload(next.payload).publicInputs.cmNew);
    await restarted.settle(next, stateFor(next, C_MAX));
    vault = reopened;
  });
});
