// The metered-account constants and the server's state keys as the CreditPool pins them (PROTOCOL.md,
// "Protocol v2, step 2"): clients check every signed state against these keys, servers check that their
// secret matches the current one. One reader for both, so nobody decodes `stateKeys()` twice.
import type { Address, PublicClient } from 'viem';
import { creditPoolAbi } from '../generated/abis.js';
import type { StatePublicKey } from './state-key.js';

/**
 * The state keys of a deployment:
 * - `current`: states signed under it are valid;
 * - `previous`: the key before the last rotation, valid while `now < validUntil` (unix seconds); absent
 *   before the first rotation. After `validUntil` it is still reported (the chain keeps it) but no longer valid;
 * - `pending`: a proposed key anyone may activate from `activatesAt` (unix seconds) on; absent when none.
 */
export type StateKeys = {
  current: StatePublicKey;
  previous?: { key: StatePublicKey; validUntil: number };
  pending?: { key: StatePublicKey; activatesAt: number };
};

/** The metered constants of a deployment: token base units per price unit, and what a call pre-pays (price units). */
export type MeteredParams = { priceUnit: bigint; cMax: number };

/**
 * Reads `stateKeys()` of the CreditPool at `pool`.
 * @example
 * const { current } = await readStateKeys(publicClient, pool);
 * verifyStateSignature(current, stateMessage(cm, r, p), sig);
 */
export async function readStateKeys(client: Pick<PublicClient, 'readContract'>, pool: Address): Promise<StateKeys> {
  const k = await client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'stateKeys' });
  const keys: StateKeys = { current: { x: k.x, y: k.y } };
  if (k.previousValidUntil !== 0n) keys.previous = { key: { x: k.previousX, y: k.previousY }, validUntil: Number(k.previousValidUntil) };
  if (k.pendingActivatesAt !== 0n) keys.pending = { key: { x: k.pendingX, y: k.pendingY }, activatesAt: Number(k.pendingActivatesAt) };
  return keys;
}

/** Reads the immutable `priceUnit()` and `cMax()` of the CreditPool at `pool`. */
export async function readMeteredParams(client: Pick<PublicClient, 'readContract'>, pool: Address): Promise<MeteredParams> {
  const [priceUnit, cMax] = await Promise.all([
    client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'priceUnit' }),
    client.readContract({ address: pool, abi: creditPoolAbi, functionName: 'cMax' }),
  ]);
  return { priceUnit, cMax: Number(cMax) };
}
