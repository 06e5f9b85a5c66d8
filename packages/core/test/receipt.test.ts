import { TransactionReceiptNotFoundError, type PublicClient, type TransactionReceipt } from 'viem';
import { describe, expect, it } from 'vitest';
import { waitForReceipt } from '../src/index.js';

const hash = `0x${'ab'.repeat(32)}` as const;

/**
 * The failure seen on automining Anvil: the receipt is not readable the instant the hash
 * comes back, and no further block is ever mined, so viem's block-driven wait never settles.
 */
function automineClient(missesBeforeReceipt: number) {
  let calls = 0;
  const receipt = { transactionHash: hash, status: 'success' } as unknown as TransactionReceipt;
  const client = {
    waitForTransactionReceipt: () => new Promise<TransactionReceipt>(() => {}),
    getTransactionReceipt: async () => {
      if (calls++ < missesBeforeReceipt) throw new TransactionReceiptNotFoundError({ hash });
      return receipt;
    },
  } as unknown as PublicClient;
  return { client, receipt, calls: () => calls };
}

describe('waitForReceipt', () => {
  it('finds a receipt that was not readable at first even when no new block follows', async () => {
    const { client, receipt, calls } = automineClient(3);
    await expect(waitForReceipt(client, { hash })).resolves.toBe(receipt);
    expect(calls()).toBe(4);
  });

  it('passes on errors other than "not found yet"', async () => {
    const client = {
      waitForTransactionReceipt: () => new Promise(() => {}),
      getTransactionReceipt: async () => {
        throw new Error('rpc down');
      },
    } as unknown as PublicClient;
    await expect(waitForReceipt(client, { hash })).rejects.toThrow('rpc down');
  });
});
