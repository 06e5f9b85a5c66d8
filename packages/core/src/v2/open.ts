// Opening flat accounts: one flow for every client, with v1's rule that fixed lost credentials:
// the account secret is derived and its record saved `pending` BEFORE anything is asked of the
// wallet, so a crash or a lost confirmation never loses a paid account. `sendAccountOpening` only
// pays (for callers keeping their own records); `openAccounts` is the whole flow over a store.
import { type Account, type Address, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { purchaseAbi, toContractError } from '../buy.js';
import { AccountError, ZkCreditsError, isZkCreditsError } from '../errors.js';
import { toFieldHex } from '../field.js';
import { creditPoolAbi } from '../generated/abis.js';
import { MAX_TICKETS } from '../generated/constants.js';
import { approveIfShort, signPaymentPermit, supportsPermit } from '../payment.js';
import { initPoseidon2 } from '../poseidon2.js';
import { waitForReceipt } from '../receipt.js';
import { decodePurchases } from '../purchases.js';
import { newId } from '../vault/crypto.js';
import type { AccountRecord } from '../vault/account-record.js';
import type { AccountStore } from './account-store.js';
import { accountId, deriveAccountSecret } from './tickets.js';

/** What an opening is doing, in order: `derive`, `save`, then `approve` or `sign`, `send`, `confirm`, `done`. */
export type OpenStep = 'derive' | 'save' | 'approve' | 'sign' | 'send' | 'confirm' | 'done';

type Wallet = WalletClient<Transport, Chain | undefined, Account | undefined>;

export type SendAccountOpeningParameters = {
  publicClient: PublicClient;
  /** The payer's wallet; its account pays and, with a permit, signs. */
  walletClient: Wallet;
  pool: Address;
  /** Account ids `H(TAG_ID, k)`, one per account. */
  ids: readonly bigint[];
  /** Tickets per account (`1 … MAX_TICKETS`), in the order of `ids`. */
  tickets: readonly number[];
  /**
   * `true`: one permit-signed transaction; `false`: approve (when the allowance is short) + open;
   * `'auto'` (default): a permit when the payment token supports one.
   */
  permit?: boolean | 'auto';
  /** Approve exactly the total (default) or unlimited. */
  approve?: 'exact' | 'unlimited';
  /**
   * The most the whole opening may cost (token base units). Default: the current price per ticket
   * times the tickets, read just before sending; the contract reverts (`PriceAboveMax`) above it.
   */
  maxTotal?: bigint;
  /** The payment token and price per ticket when the caller has just read them (e.g. for a quote it showed). */
  quote?: { token: Address; pricePerTicket: bigint };
  onStep?(step: OpenStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

export type SendAccountOpeningResult = { transactionHash: Hash; maxTotal: bigint };

/**
 * Pays for flat accounts and returns once the transaction is sent: `openFlat` for one account,
 * `openFlatBatch` for several, `openFlatWithPermit` with a permit. Simulated first, so an opening
 * the contract or token would refuse fails by name and costs nothing. Errors are `ZkCreditsError`s
 * (`contract_error`) with the wallet's or viem's error as `cause`.
 */
export async function sendAccountOpening(params: SendAccountOpeningParameters): Promise<SendAccountOpeningResult> {
  const { publicClient, walletClient, pool, ids, tickets, onStep } = params;
  try {
    const account = walletClient.account;
    if (!account) throw new ZkCreditsError('contract_error', 'the wallet client has no account to pay with');
    if (ids.length === 0 || ids.length !== tickets.length) {
      throw new ZkCreditsError('invalid_request', 'one ticket count per account id is needed', { details: `${ids.length} ids, ${tickets.length} ticket counts` });
    }
    for (const n of tickets) {
      if (!Number.isInteger(n) || n < 1 || n > MAX_TICKETS) {
        throw new ZkCreditsError('invalid_request', 'an account holds 1 to MAX_TICKETS tickets', { details: `${n} tickets; at most ${MAX_TICKETS}`, param: 'tickets' });
      }
    }
    const [token, price] = params.quote
      ? [params.quote.token, params.quote.pricePerTicket]
      : await Promise.all([
          publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' }),
          publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'pricePerTicket' }),
        ]);
    const total = price * tickets.reduce((sum, n) => sum + BigInt(n), 0n);
    const maxTotal = params.maxTotal ?? total;
    if (total > maxTotal) {
      throw new ZkCreditsError('contract_error', "the price is above the buyer's maximum", { details: `the tickets cost ${total} base units now, maxTotal is ${maxTotal}` });
    }
    const permit = params.permit === 'auto' || params.permit === undefined ? await supportsPermit(publicClient, token) : params.permit;
    const send = { account, chain: walletClient.chain, address: pool, abi: purchaseAbi } as const;
    const counts = tickets.map(BigInt);
    let hash: Hash;
    if (permit) {
      const { deadline, v, r, s } = await signPaymentPermit({ publicClient, walletClient, account, token, spender: pool, value: maxTotal, onSign: () => onStep?.('sign', {}) });
      const args = [[...ids], counts, maxTotal, deadline, v, r, s] as const;
      await onStep?.('send', {});
      await publicClient.simulateContract({ ...send, functionName: 'openFlatWithPermit', args });
      hash = await walletClient.writeContract({ ...send, functionName: 'openFlatWithPermit', args });
    } else {
      await approveIfShort({ publicClient, walletClient, account, token, spender: pool, total, approve: params.approve, onApprove: () => onStep?.('approve', {}) });
      await onStep?.('send', {});
      if (ids.length === 1) {
        const args = [ids[0]!, counts[0]!, maxTotal] as const;
        await publicClient.simulateContract({ ...send, functionName: 'openFlat', args });
        hash = await walletClient.writeContract({ ...send, functionName: 'openFlat', args });
      } else {
        const args = [[...ids], counts, maxTotal] as const;
        await publicClient.simulateContract({ ...send, functionName: 'openFlatBatch', args });
        hash = await walletClient.writeContract({ ...send, functionName: 'openFlatBatch', args });
      }
    }
    return { transactionHash: hash, maxTotal };
  } catch (error) {
    throw toContractError(error);
  }
}

/** The on-chain slot of account `id` (`status` 0 none, 1 active, 2 slashed). */
export async function readAccount(publicClient: Pick<PublicClient, 'readContract'>, pool: Address, id: bigint): Promise<{ leafIndex: number; tickets: number; expiryDay: number; status: number }> {
  const [leafIndex, tickets, expiryDay, status] = await publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'accounts', args: [id] });
  return { leafIndex: Number(leafIndex), tickets: Number(tickets), expiryDay: Number(expiryDay), status: Number(status) };
}

export type OpenAccountsParameters = Omit<SendAccountOpeningParameters, 'ids' | 'onStep'> & {
  store: AccountStore;
  chainId: number;
  /** Clock for `createdAt` (ms); default `Date.now`. */
  now?: () => number;
  onStep?(step: OpenStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

/**
 * Opens one flat account per entry of `tickets`, paid from the wallet, and returns their records
 * once confirmed (`open`, with `leafIndex` and `expiryDay` from the `AccountOpened` events).
 *
 * Order: the master secret (made on first need) gives `k_j` for the next `j` unused in the store
 * and on chain; the records are saved `pending` (durably) before the wallet is asked for
 * anything; then the opening is sent. Refused or not sent → `abandoned`, nothing paid; reverted →
 * `abandoned`; sent but unconfirmed → they stay `pending` (recovery or a later look at the chain
 * finds them). Errors are `AccountError`s (`opening_failed`) whose message says whether anything
 * was paid, with the cause attached.
 */
export async function openAccounts(params: OpenAccountsParameters): Promise<AccountRecord[]> {
  const { publicClient, store, pool, chainId, tickets } = params;
  const now = params.now ?? Date.now;
  const onStep = async (step: OpenStep, info: { transactionHash?: Hash } = {}) => params.onStep?.(step, info);
  await onStep('derive');
  await initPoseidon2();
  let records: AccountRecord[];
  try {
    const master = await store.masterSecret();
    const known = new Set((await store.listAccounts()).map((a) => a.accountId));
    const fromBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
    const createdAt = now();
    records = [];
    for (let j = 0; records.length < tickets.length; j++) {
      const k = deriveAccountSecret(master, j);
      const id = toFieldHex(accountId(k));
      if (known.has(id)) continue;
      // Opened from another copy of this vault (or a tab that has not told this one yet): never reuse.
      if ((await readAccount(publicClient, pool, BigInt(id))).status !== 0) continue;
      const n = tickets[records.length]!;
      records.push({
        id: newId(),
        kind: 'flat',
        accountId: id,
        secret: toFieldHex(k),
        index: j,
        status: 'pending',
        chainId,
        contract: pool,
        tickets: n,
        fromBlock: fromBlock.toString(),
        nextTicket: 0,
        journal: [],
        burned: 0,
        createdAt,
      });
    }
  } catch (cause) {
    if (isZkCreditsError(cause, 'invalid_request')) throw cause;
    throw new AccountError('opening_failed', 'Could not prepare the accounts. Nothing was paid.', { details: briefly(cause), cause });
  }

  await onStep('save');
  try {
    await store.addAccounts(records);
  } catch (cause) {
    throw new AccountError('opening_failed', 'The new accounts could not be saved, so nothing was paid.', { details: briefly(cause), cause });
  }

  // Nothing was asked of the wallet before this point: the accounts are stored as pending.
  const abandon = () => Promise.all(records.map((r) => store.updateAccount(r.id, { status: 'abandoned' }).catch(() => undefined)));
  let transactionHash: Hash;
  try {
    ({ transactionHash } = await sendAccountOpening({ ...params, ids: records.map((r) => BigInt(r.accountId)), onStep: (step, info) => onStep(step, info) }));
  } catch (cause) {
    await abandon();
    throw new AccountError('opening_failed', 'The opening was not sent. Nothing was paid.', { details: briefly(cause), cause });
  }
  await Promise.all(records.map((r) => store.updateAccount(r.id, { txHash: transactionHash }).catch(() => undefined)));

  await onStep('confirm', { transactionHash });
  let receipt: Awaited<ReturnType<typeof waitForReceipt>>;
  try {
    receipt = await waitForReceipt(publicClient, { hash: transactionHash });
  } catch (cause) {
    throw new AccountError('opening_failed', 'The opening was sent but its confirmation could not be read. The accounts stay pending until the chain shows them.', {
      details: `transaction ${transactionHash}: ${briefly(cause)}`,
      cause,
    });
  }
  if (receipt.status !== 'success') {
    await abandon();
    throw new AccountError('opening_failed', 'The opening transaction reverted. Nothing was paid.', { details: transactionHash });
  }
  // The opening's accounts as the contract wrote them (core's one event replay).
  const events = new Map<string, { leafIndex: number; tickets: number; expiryDay: number }>();
  for (const p of decodePurchases(receipt.logs, pool)) {
    if (p.kind !== 'accounts' || p.transactionHash !== transactionHash) continue;
    p.accounts?.forEach((a, i) => events.set(toFieldHex(a.id), { leafIndex: p.startIndex + i, tickets: a.tickets, expiryDay: a.expiryDay }));
  }
  const opened: AccountRecord[] = [];
  for (const r of records) {
    const event = events.get(r.accountId);
    if (!event || event.tickets !== r.tickets) {
      throw new AccountError('opening_failed', 'The opening was confirmed but its events do not list these accounts. They stay pending until the chain shows them.', {
        details: transactionHash,
      });
    }
    opened.push(await store.updateAccount(r.id, { status: 'open', leafIndex: event.leafIndex, expiryDay: event.expiryDay }));
  }
  await onStep('done', { transactionHash });
  return opened;
}

function briefly(error: unknown): string | undefined {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
}
