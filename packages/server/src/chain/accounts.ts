import { creditPoolAbi } from '@zkcredits/core';
import type { PublicClient } from 'viem';

/** `accounts(id).status` of the CreditPool: 0 none, 1 active, 2 slashed. */
export type AccountStatus = 'none' | 'active' | 'slashed';

/** An account as the contract holds it (`tickets`: a flat account's; 0 for a metered one). */
export type OnChainAccount = { leafIndex: number; tickets: number; expiryDay: number; status: AccountStatus; kind: 'flat' | 'metered' | 'none' };

/** Reads flat accounts from the chain (revocation: how many nullifiers; the slasher: whether it is still active). */
export interface AccountReader {
  /** @throws when the node cannot be asked (the caller decides what to do without it). */
  readAccount(id: bigint): Promise<OnChainAccount>;
}

const STATUS: readonly AccountStatus[] = ['none', 'active', 'slashed'];
/** `accounts(id).kind`: 0 none, 1 flat, 2 metered. */
const KIND = ['none', 'flat', 'metered'] as const;

/** The CreditPool at `contract` through `client`. */
export function contractAccounts(client: Pick<PublicClient, 'readContract'>, contract: `0x${string}`): AccountReader {
  return {
    async readAccount(id) {
      const [leafIndex, tickets, expiryDay, status, kind] = await client.readContract({ address: contract, abi: creditPoolAbi, functionName: 'accounts', args: [id] });
      const name = STATUS[Number(status)];
      if (!name) throw new Error(`the contract reports an unknown account status ${status}`);
      return { leafIndex: Number(leafIndex), tickets: Number(tickets), expiryDay: Number(expiryDay), status: name, kind: KIND[Number(kind)] ?? 'none' };
    },
  };
}
