import type { Hash, PublicClient, TransactionReceipt } from 'viem';
import { findErrorByName } from './errors.js';

export type WaitForReceiptParameters = { hash: Hash; timeoutMs?: number };

/**
 * Waits for a transaction's receipt. viem's `waitForTransactionReceipt` (which also follows
 * replaced transactions) looks again only when a new block arrives; a local automining chain
 * may mine nothing after our transaction, and a receipt not yet readable when the hash came
 * back would then be waited for forever. So the receipt is also polled directly; whichever
 * finds it first wins.
 */
export async function waitForReceipt(client: PublicClient, { hash, timeoutMs = 180_000 }: WaitForReceiptParameters): Promise<TransactionReceipt> {
  let done = false;
  const poll = async (): Promise<TransactionReceipt> => {
    for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await client.getTransactionReceipt({ hash });
      } catch (error) {
        // By name: the client may come from the caller's own copy of viem, whose classes are not ours.
        if (!findErrorByName(error, 'TransactionReceiptNotFoundError') || done) throw error;
      }
      await new Promise((r) => setTimeout(r, delay));
      if (done) throw new Error('superseded');
    }
  };
  try {
    return await Promise.race([client.waitForTransactionReceipt({ hash, timeout: timeoutMs }), poll()]);
  } finally {
    done = true;
  }
}
