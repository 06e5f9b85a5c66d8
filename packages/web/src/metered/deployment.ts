// A deployment's metered constants and state keys, read from the chain through the app's own RPC
// (never from the API server), and the page's side of a metered call for the prover worker.
import { readMeteredParams, readStateKeys, type MeteredDeployment, type StateKeys } from '@zkcredits/core';
import type { Address, PublicClient } from 'viem';
import { AppError } from '../errors';
import type { MeteredContext } from '../prover/types';
import { wire } from '../prover/wire';
import type { Vault } from '../vault';
import type { MeteredParams } from './money';

type Reader = Pick<PublicClient, 'readContract'>;

/** Per deployment: the immutable constants (read once per tab) and the state keys (read again on request). */
const cache = new Map<string, { params?: Promise<MeteredParams>; keys?: Promise<StateKeys> }>();

function entry(pool: Address, chainId: number) {
  const key = `${chainId}:${pool.toLowerCase()}`;
  let e = cache.get(key);
  if (!e) cache.set(key, (e = {}));
  return e;
}

function chainError(cause: unknown): AppError {
  return new AppError('chain_unavailable', 'This app cannot read the metered account terms from the blockchain right now. Nothing was spent; try again.', {
    details: cause instanceof Error ? cause.message.split('\n')[0]!.slice(0, 200) : undefined,
    cause,
  });
}

/** `priceUnit()` and `cMax()` of the CreditPool (immutable: read once per tab). */
export function meteredParams(client: Reader, pool: Address, chainId: number): Promise<MeteredParams> {
  const e = entry(pool, chainId);
  e.params ??= readMeteredParams(client, pool).catch((cause: unknown) => {
    e.params = undefined;
    throw chainError(cause);
  });
  return e.params;
}

/** `stateKeys()` of the CreditPool; `fresh` reads them again (a rotation may have happened). */
export function stateKeys(client: Reader, pool: Address, chainId: number, fresh = false): Promise<StateKeys> {
  const e = entry(pool, chainId);
  if (fresh) e.keys = undefined;
  e.keys ??= readStateKeys(client, pool).catch((cause: unknown) => {
    e.keys = undefined;
    throw chainError(cause);
  });
  return e.keys;
}

/**
 * What the worker's `MeteredSpender` reaches in the page: the vault's metered accounts (its lane
 * journal) and the deployment's C_max and state keys from the chain. Every signed state is checked
 * against these keys, never against anything the server says.
 */
export function meteredContext(vault: Vault, client: Reader, pool: Address, chainId: number): MeteredContext {
  return {
    store: {
      listMeteredAccounts: () => wire(() => vault.listMeteredAccounts()),
      meteredAccount: (id) => wire(() => vault.meteredAccount(id)),
      addMeteredAccounts: (records) => wire(() => vault.addMeteredAccounts(records)),
      updateMeteredAccount: (id, patch) => wire(() => vault.updateMeteredAccount(id, patch)),
      journalLane: (id, lane, pending) => wire(() => vault.journalLane(id, lane, pending)),
      commitLane: (id, lane, nullifier, signed) => wire(() => vault.commitLane(id, lane, nullifier, signed)),
    },
    deployment: (fresh) =>
      wire(async (): Promise<MeteredDeployment> => {
        const [{ cMax }, keys] = await Promise.all([meteredParams(client, pool, chainId), stateKeys(client, pool, chainId, fresh)]);
        return { cMax, stateKeys: { current: keys.current, ...(keys.previous ? { previous: keys.previous } : {}) } };
      }),
  };
}
