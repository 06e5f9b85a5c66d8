// Opening accounts: one flow for every client, with v1's rule that fixed lost credentials:
// the account secret is derived and its record saved `pending` BEFORE anything is asked of the
// wallet, so a crash or a lost confirmation never loses a paid account. `sendAccountOpening` /
// `sendMeteredOpening` only pay (for callers keeping their own records); `openAccounts` (flat) and
// `openMeteredAccount(s)` (metered) are the whole flow over a store. Both kinds pay the same way
// (`payment.ts`: a permit, or an approval when the allowance is short) and share one index space
// under the master secret.
import { type Account, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport, type WalletClient, erc20Abi } from 'viem';
import { purchaseAbi, toContractError } from '../buy.js';
import { AccountError, ZkCreditsError, isZkCreditsError } from '../errors.js';
import { toFieldHex, type FieldHex } from '../field.js';
import { creditPoolAbi } from '../generated/abis.js';
import { MAX_TICKETS } from '../generated/constants.js';
import { type MeteredTerms, assertMeteredTerms } from './metered.js';
import type { MeteredAccountStore } from './metered-store.js';
import { readMeteredParams } from './state-keys.js';
import { genesisLanes, type MeteredAccountRecord } from '../vault/metered-record.js';
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
    const counts = tickets.map(BigInt);
    const hash = await payAndSend({
      ...params,
      account,
      token,
      total,
      maxTotal,
      withPermit: ({ deadline, v, r, s }) => ({ functionName: 'openFlatWithPermit', args: [[...ids], counts, maxTotal, deadline, v, r, s] }),
      withAllowance: () =>
        ids.length === 1 ? { functionName: 'openFlat', args: [ids[0]!, counts[0]!, maxTotal] } : { functionName: 'openFlatBatch', args: [[...ids], counts, maxTotal] },
    });
    return { transactionHash: hash, maxTotal };
  } catch (error) {
    throw toContractError(error);
  }
}

/** A CreditPool call that pays, as `payAndSend` sends it. */
type PayingCall =
  | { functionName: 'openFlat'; args: readonly [bigint, bigint, bigint] }
  | { functionName: 'openFlatBatch'; args: readonly [readonly bigint[], readonly bigint[], bigint] }
  | { functionName: 'openFlatWithPermit'; args: readonly [readonly bigint[], readonly bigint[], bigint, bigint, number, Hex, Hex] }
  | { functionName: 'openMetered'; args: readonly [bigint, bigint, bigint, bigint, bigint] }
  | { functionName: 'openMeteredWithPermit'; args: readonly [bigint, bigint, bigint, bigint, bigint, bigint, number, Hex, Hex] };

/**
 * The payment path every opening shares: with a permit (when asked, or `'auto'` and the token takes
 * one) the wallet signs a permit of `maxTotal` and the `withPermit` call is sent; otherwise the
 * allowance is raised to `total` when short and the `withAllowance` call is sent. Simulated first, so
 * a call the contract or token would refuse fails by name and costs nothing.
 */
async function payAndSend(p: {
  publicClient: PublicClient;
  walletClient: Wallet;
  account: Account;
  pool: Address;
  token: Address;
  total: bigint;
  maxTotal: bigint;
  permit?: boolean | 'auto' | undefined;
  approve?: 'exact' | 'unlimited' | undefined;
  onStep?: ((step: OpenStep, info: { transactionHash?: Hash }) => void | Promise<void>) | undefined;
  withPermit: (signature: { deadline: bigint; v: number; r: Hex; s: Hex }) => PayingCall;
  withAllowance: () => PayingCall;
}): Promise<Hash> {
  const { publicClient, walletClient, account, pool, token, onStep } = p;
  const permit = p.permit === 'auto' || p.permit === undefined ? await supportsPermit(publicClient, token) : p.permit;
  let call: PayingCall;
  if (permit) {
    const signature = await signPaymentPermit({ publicClient, walletClient, account, token, spender: pool, value: p.maxTotal, onSign: () => onStep?.('sign', {}) });
    call = p.withPermit(signature);
  } else {
    await approveIfShort({ publicClient, walletClient, account, token, spender: pool, total: p.total, approve: p.approve, onApprove: () => onStep?.('approve', {}) });
    call = p.withAllowance();
  }
  await onStep?.('send', {});
  const request = { account, chain: walletClient.chain, address: pool, abi: purchaseAbi, ...call } as const;
  await publicClient.simulateContract(request as Parameters<PublicClient['simulateContract']>[0]);
  return walletClient.writeContract(request as Parameters<Wallet['writeContract']>[0]);
}

/**
 * The on-chain slot of account `id`: `status` 0 none, 1 active, 2 slashed; `kind` 1 flat, 2 metered (0
 * none). `tickets` is a flat account's; a metered account's terms are in its `MeteredAccountOpened`
 * event (`decodePurchases`).
 */
export async function readAccount(
  publicClient: Pick<PublicClient, 'readContract'>,
  pool: Address,
  id: bigint,
): Promise<{ leafIndex: number; tickets: number; expiryDay: number; status: number; kind: number }> {
  const [leafIndex, tickets, expiryDay, status, kind] = await publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'accounts', args: [id] });
  return { leafIndex: Number(leafIndex), tickets: Number(tickets), expiryDay: Number(expiryDay), status: Number(status), kind: Number(kind) };
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
    const fromBlock = await publicClient.getBlockNumber({ cacheTime: 0 });
    const createdAt = now();
    records = [];
    for (const { j, k, id } of await unusedSecrets(store, publicClient, pool, master, tickets.length)) {
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
  const receipt = await openingReceipt(publicClient, transactionHash, abandon, 'The accounts stay pending until the chain shows them.');
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

// ------------------------------------------------------------------ metered accounts

/** What a metered opening buys: `2^lanesLog2` lanes of `dLane` deposit and `sLane` stake each (price units). */
export type MeteredOpeningTerms = Omit<MeteredTerms, 'expiryDay'>;

export type SendMeteredOpeningParameters = Omit<SendAccountOpeningParameters, 'ids' | 'tickets' | 'quote'> & {
  /** The account id `H(TAG_ID, k)`. */
  id: bigint;
  terms: MeteredOpeningTerms;
  /**
   * The payment token and the price of these terms when the caller has just read them (e.g. for a
   * quote it showed). Default: `paymentToken()` and `meteredPrice(dLane, lanesLog2, sLane)`, read just
   * before sending (`maxTotal` defaults to that price).
   */
  quote?: { token: Address; price: bigint };
};

/**
 * Pays for one metered account and returns once the transaction is sent: `openMetered`, or
 * `openMeteredWithPermit` with a permit; the same payment path as flat accounts. The contract computes
 * the leaf and pulls `(dLane + sLane) · 2^lanesLog2 · priceUnit`. Simulated first, so terms the
 * contract refuses (`dLane < cMax`, …) fail by name and cost nothing. Errors are `ZkCreditsError`s:
 * `invalid_request` for terms out of range, `contract_error` with the wallet's or viem's error as `cause`.
 */
export async function sendMeteredOpening(params: SendMeteredOpeningParameters): Promise<SendAccountOpeningResult> {
  const { publicClient, walletClient, pool, id, terms } = params;
  assertMeteredTerms(terms);
  try {
    const account = walletClient.account;
    if (!account) throw new ZkCreditsError('contract_error', 'the wallet client has no account to pay with');
    const [dLane, lanesLog2, sLane] = [BigInt(terms.dLane), BigInt(terms.lanesLog2), BigInt(terms.sLane)];
    const [token, price] = params.quote
      ? [params.quote.token, params.quote.price]
      : await Promise.all([
          publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' }),
          publicClient.readContract({ address: pool, abi: purchaseAbi, functionName: 'meteredPrice', args: [dLane, lanesLog2, sLane] }),
        ]);
    const maxTotal = params.maxTotal ?? price;
    if (price > maxTotal) {
      throw new ZkCreditsError('contract_error', "the price is above the buyer's maximum", { details: `the account costs ${price} base units now, maxTotal is ${maxTotal}` });
    }
    const hash = await payAndSend({
      ...params,
      account,
      token,
      total: price,
      maxTotal,
      withPermit: ({ deadline, v, r, s }) => ({ functionName: 'openMeteredWithPermit', args: [id, dLane, lanesLog2, sLane, maxTotal, deadline, v, r, s] }),
      withAllowance: () => ({ functionName: 'openMetered', args: [id, dLane, lanesLog2, sLane, maxTotal] }),
    });
    return { transactionHash: hash, maxTotal };
  } catch (error) {
    throw toContractError(error);
  }
}

export type OpenMeteredAccountParameters = Omit<SendMeteredOpeningParameters, 'id' | 'onStep'> & {
  /** Keeps the records: the master secret and both kinds of accounts (one index space). */
  store: AccountStore & MeteredAccountStore;
  chainId: number;
  /** Clock for `createdAt` (ms); default `Date.now`. */
  now?: () => number;
  onStep?(step: OpenStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

/**
 * Opens one metered account paid from the wallet and returns its record once confirmed (`open`,
 * with `leafIndex` and `expiryDay` from its `MeteredAccountOpened` event, every lane at genesis).
 *
 * The same order as `openAccounts`: `k_j` for the next index `j` unused in the store (flat or
 * metered) and on chain; the record is saved `pending` (durably) before the wallet is asked for
 * anything; then the opening is sent. Refused or not sent → `abandoned`, nothing paid; reverted →
 * `abandoned`; sent but unconfirmed → it stays `pending`. Errors are `AccountError`s
 * (`opening_failed`) whose message says whether anything was paid, or `invalid_request` for terms out
 * of range (before anything is stored).
 *
 * @example
 * const record = await openMeteredAccount({ publicClient, walletClient, pool, chainId, store: vault,
 *   terms: { dLane: 1_000_000, lanesLog2: 2, sLane: 50_000 } });
 */
export async function openMeteredAccount(params: OpenMeteredAccountParameters): Promise<MeteredAccountRecord> {
  const { publicClient, store, pool, chainId, terms } = params;
  const now = params.now ?? Date.now;
  const onStep = async (step: OpenStep, info: { transactionHash?: Hash } = {}) => params.onStep?.(step, info);
  assertMeteredTerms(terms);
  await onStep('derive');
  await initPoseidon2();
  let record: MeteredAccountRecord;
  try {
    const master = await store.masterSecret();
    const [fromBlock, { priceUnit, cMax }, token] = await Promise.all([
      publicClient.getBlockNumber({ cacheTime: 0 }),
      readMeteredParams(publicClient, pool),
      readTokenInfo(publicClient, pool),
    ]);
    const [{ j, k, id }] = (await unusedSecrets(store, publicClient, pool, master, 1)) as [{ j: number; k: bigint; id: FieldHex }];
    record = {
      id: newId(),
      kind: 'metered',
      accountId: id,
      secret: toFieldHex(k),
      index: j,
      status: 'pending',
      chainId,
      contract: pool,
      dLane: terms.dLane,
      lanesLog2: terms.lanesLog2,
      sLane: terms.sLane,
      cMax,
      priceUnit: priceUnit.toString(),
      ...(token ? { token } : {}),
      fromBlock: fromBlock.toString(),
      lanes: genesisLanes(terms.lanesLog2),
      createdAt: now(),
    };
  } catch (cause) {
    throw new AccountError('opening_failed', 'Could not prepare the account. Nothing was paid.', { details: briefly(cause), cause });
  }

  await onStep('save');
  try {
    await store.addMeteredAccounts([record]);
  } catch (cause) {
    throw new AccountError('opening_failed', 'The new account could not be saved, so nothing was paid.', { details: briefly(cause), cause });
  }

  // Nothing was asked of the wallet before this point: the account is stored as pending.
  const abandon = () => store.updateMeteredAccount(record.id, { status: 'abandoned' }).catch(() => undefined);
  let transactionHash: Hash;
  try {
    ({ transactionHash } = await sendMeteredOpening({ ...params, id: BigInt(record.accountId), onStep: (step, info) => onStep(step, info) }));
  } catch (cause) {
    await abandon();
    throw new AccountError('opening_failed', 'The opening was not sent. Nothing was paid.', { details: briefly(cause), cause });
  }
  await store.updateMeteredAccount(record.id, { txHash: transactionHash }).catch(() => undefined);

  await onStep('confirm', { transactionHash });
  const receipt = await openingReceipt(publicClient, transactionHash, abandon, 'The account stays pending until the chain shows it.');
  // The account as the contract wrote it (core's one event replay).
  const opened = decodePurchases(receipt.logs, pool).find((p) => p.kind === 'metered' && p.transactionHash === transactionHash && toFieldHex(p.metered!.id) === record.accountId);
  const written = opened?.metered?.terms;
  if (!opened || !written || written.dLane !== terms.dLane || written.lanesLog2 !== terms.lanesLog2 || written.sLane !== terms.sLane) {
    throw new AccountError('opening_failed', 'The opening was confirmed but its event does not show this account. It stays pending until the chain shows it.', {
      details: transactionHash,
    });
  }
  const done = await store.updateMeteredAccount(record.id, { status: 'open', leafIndex: opened.startIndex, expiryDay: written.expiryDay });
  await onStep('done', { transactionHash });
  return done;
}

/** The payment token's decimals and symbol for showing money, or undefined when the token does not say. */
async function readTokenInfo(publicClient: PublicClient, pool: Address): Promise<{ decimals: number; symbol?: string } | undefined> {
  const token = await publicClient.readContract({ address: pool, abi: creditPoolAbi, functionName: 'paymentToken' });
  const [decimals, symbol] = await Promise.all([
    publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }).catch(() => undefined),
    publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }).catch(() => undefined),
  ]);
  if (decimals === undefined || decimals > 36) return undefined;
  return { decimals, ...(symbol ? { symbol: symbol.slice(0, 32) } : {}) };
}

export type OpenMeteredAccountsParameters = Omit<OpenMeteredAccountParameters, 'terms' | 'maxTotal' | 'quote'> & {
  /** One entry per account. */
  accounts: readonly MeteredOpeningTerms[];
};

/**
 * Opens several metered accounts, one `openMetered` transaction each (the contract opens one per
 * call), in order, each with `openMeteredAccount`'s guarantees. Stops at the first failure: its
 * `AccountError` says whether that one was paid, and the accounts opened before it are in the store.
 */
export async function openMeteredAccounts(params: OpenMeteredAccountsParameters): Promise<MeteredAccountRecord[]> {
  for (const terms of params.accounts) assertMeteredTerms(terms);
  const records: MeteredAccountRecord[] = [];
  for (const terms of params.accounts) records.push(await openMeteredAccount({ ...params, terms }));
  return records;
}

/**
 * The next `count` derivation indices `j` (0, 1, …) whose account id `H(TAG_ID, k_j)` is neither in the
 * store (flat, or metered when the store keeps those too) nor opened on chain (from another copy of
 * this vault, or a tab that has not told this one yet): flat and metered accounts share one index space.
 */
async function unusedSecrets(
  store: AccountStore | (AccountStore & MeteredAccountStore),
  publicClient: Pick<PublicClient, 'readContract'>,
  pool: Address,
  master: bigint,
  count: number,
): Promise<{ j: number; k: bigint; id: FieldHex }[]> {
  const known = new Set((await store.listAccounts()).map((a) => a.accountId));
  if ('listMeteredAccounts' in store) for (const a of await store.listMeteredAccounts()) known.add(a.accountId);
  const out: { j: number; k: bigint; id: FieldHex }[] = [];
  for (let j = 0; out.length < count; j++) {
    const k = deriveAccountSecret(master, j);
    const id = toFieldHex(accountId(k));
    if (known.has(id)) continue;
    if ((await readAccount(publicClient, pool, BigInt(id))).status !== 0) continue;
    out.push({ j, k, id });
  }
  return out;
}

function briefly(error: unknown): string | undefined {
  return error instanceof Error ? error.message.split('\n')[0]!.slice(0, 200) : undefined;
}

/**
 * The receipt of a sent opening. Unreadable: the records stay pending (`pending` says so) until the
 * chain shows them; reverted: they are abandoned (nothing was paid).
 */
async function openingReceipt(
  publicClient: Parameters<typeof waitForReceipt>[0],
  transactionHash: Hash,
  abandon: () => Promise<unknown>,
  pending: string,
): Promise<Awaited<ReturnType<typeof waitForReceipt>>> {
  let receipt: Awaited<ReturnType<typeof waitForReceipt>>;
  try {
    receipt = await waitForReceipt(publicClient, { hash: transactionHash });
  } catch (cause) {
    throw new AccountError('opening_failed', `The opening was sent but its confirmation could not be read. ${pending}`, {
      details: `transaction ${transactionHash}: ${briefly(cause)}`,
      cause,
    });
  }
  if (receipt.status !== 'success') {
    await abandon();
    throw new AccountError('opening_failed', 'The opening transaction reverted. Nothing was paid.', { details: transactionHash });
  }
  return receipt;
}
