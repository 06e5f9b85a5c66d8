/**
 * `ZkCreditsClient`: pays OpenAI-compatible chat calls to one zkcredits server with credits the
 * caller holds, for Node and the browser. It checks the server before anything is proven (its
 * verification key is the pinned one, its chain and contract are the ones the caller chose),
 * syncs the credit tree and checks it against the chain, gives each request its own credit, and
 * end-to-end encrypts to attested enclaves. `zk.fetch` plugs it into any OpenAI client.
 *
 * It never logs: prompts, answers and credentials stay in memory and in the caller's store.
 */
import type { AttestationReport } from '@zkcredits/attest';
import {
  CREDIT_VK_SHA256,
  METERED_VK_SHA256,
  MeteredSpender,
  TICKET_VK_SHA256,
  TicketSpender,
  fetchMeteredState,
  creditPoolAbi,
  initPoseidon2,
  meteredBalance,
  openAccounts,
  openMeteredAccount,
  readAccount,
  readMeteredParams,
  readStateKeys,
  recoverAccounts,
  recoverMeteredAccounts,
  type RecoverAccountsParameters,
  type RecoverMeteredAccountsParameters,
  utcDay,
  type AccountRecord,
  type LaneRecovery,
  type MeteredAccountRecord,
  type MeteredDeployment,
  type MeteredParams,
  type MeteredProverLike,
  type OpenStep,
  type RecoveredAccount,
  type RecoveredMeteredAccount,
  type TicketProverLike,
} from '@zkcredits/core';
import { createPublicClient, erc20Abi, http, type Account, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { buyInto, type BuyOptions } from './buy.js';
import { decryptAnswer } from './e2ee-answer.js';
import { EnclaveKeys, assertE2eeRequest, sealRequest, type E2eeOptions } from './e2ee.js';
import { ClientError, briefly } from './errors.js';
import { sendPaidChat, type PaidChatContext, type PaidChatRequest, type SpendProver } from './paid-chat.js';
import { accountOf, callsLeft, sendTicketChat } from './paid-ticket.js';
import { canPayMetered, sendMeteredChat } from './paid-metered.js';
import { belongsTo, countCredits, type CreditCounts, type CreditRecord, type DeploymentRef, type Hex } from './records.js';
import { ServerApi, serverOrigin, type FetchFn, type MeteredConfig, type ModelInfo, type ServerConfig } from './server-api.js';
import type { CreditStore } from './store.js';
import { chainTreeCheck } from './tree-check.js';
import { TreeSync } from './tree-sync.js';
import { assertUnpaid, createZkFetch } from './zk-fetch.js';

/** How the client reads the chain: an RPC URL (read through `fetch`, default the client's) or a viem client. */
export type ChainOptions = { rpcUrl: string; fetch?: FetchFn } | { publicClient: PublicClient };

/** A prover of v2 flat tickets: `TicketProver` (`@zkcredits/core/prover`), or `nodeTicketProver()` from `@zkcredits/client/node`. */
export type TicketProverOption = (TicketProverLike & { destroy?(): Promise<void> }) | (() => Promise<TicketProverLike & { destroy?(): Promise<void> }>);

/** A prover of v2 metered calls: `MeteredProver` (`@zkcredits/core/prover`), or `nodeMeteredProver()` from `@zkcredits/client/node`. */
export type MeteredProverOption = (MeteredProverLike & { destroy?(): Promise<void> }) | (() => Promise<MeteredProverLike & { destroy?(): Promise<void> }>);

/** One v2 flat account of this deployment, as `accounts()` and `balance()` show it. */
export type AccountBalance = {
  kind: 'flat';
  /** The record id in the store. */
  id: string;
  status: AccountRecord['status'];
  tickets: number;
  /** Calls this account can still pay (0 unless open and not expired). */
  callsLeft: number;
  expiryDay: number | undefined;
  expired: boolean;
  /** Tickets taken for requests with no outcome yet. */
  inFlight: number;
  /** Tickets given up without an answer. */
  burned: number;
  /** Restored from a backup and not recovered yet: it pays nothing until `recover()` brought its counter up to date. */
  recoveryNeeded: boolean;
};

/** One v2 metered account of this deployment, as `accounts()` and `balance()` show it. */
export type MeteredAccountBalance = {
  kind: 'metered';
  id: string;
  status: AccountRecord['status'];
  lanes: number;
  /** Deposit and stake per lane, in price units. */
  dLane: number;
  sLane: number;
  /** The deployment's C_max (price units) and token base units per price unit. */
  cMax: number;
  priceUnit: bigint;
  /** The payment token's decimals and symbol, for showing `money`, when known. */
  token?: { decimals: number; symbol?: string };
  /** What the lanes hold now, in price units (a call in flight counts as its worst case, C_max, until its state returns). */
  priceUnits: number;
  /** The same in token base units (`priceUnits · priceUnit`). */
  money: bigint;
  /** Calls the balance still covers at C_max (Σ over lanes of ⌊balance / C_max⌋; 0 unless open and not expired). */
  callsAtCmax: number;
  /** Calls whose signed state has not come back yet (their lanes wait; refunds not counted). */
  pending: number;
  /** Penalties signed on its lanes (price units). */
  penalties: number;
  /** Lanes frozen by penalties, and lanes found continued in another copy of the account. */
  frozenLanes: number;
  staleLanes: number;
  expiryDay: number | undefined;
  expired: boolean;
  /** Restored from a backup and not recovered yet: it pays nothing until `recover()` checked its lanes. */
  recoveryNeeded: boolean;
};

/** Credits by status, and the v2 accounts (flat and metered) with what each can still pay. */
export type Balance = CreditCounts & { accounts: (AccountBalance | MeteredAccountBalance)[] };

/** What `openMetered` opens: lanes, and the deposit and stake, in token base units. */
export type OpenMeteredOptions = OpenAccountOptions & {
  /** Lanes: 1, 2, 4 or 8 (up to that many calls at once). */
  lanes: number;
  /** Usage deposit per lane (token base units), or `deposit` for all lanes together; a whole number of price units per lane. */
  depositPerLane?: bigint;
  deposit?: bigint;
  /** Policy stake per lane (token base units), or `stake` for all lanes together; at least one price unit per lane. */
  stakePerLane?: bigint;
  stake?: bigint;
};

export type OpenAccountOptions = {
  /** The payer's wallet; its account pays (and signs the permit). */
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** `'auto'` (default): one permit-signed transaction when the token supports it; `false`: approve + open. */
  permit?: boolean | 'auto';
  /** The most the whole opening may cost (token base units); default the current price per ticket times the tickets. */
  maxTotal?: bigint;
  onStep?(step: OpenStep, info: { transactionHash?: Hash }): void | Promise<void>;
};

export type ZkCreditsClientOptions = {
  /** The zkcredits server, e.g. `https://api.example` (a trailing `/v1` is ignored). */
  server: string;
  /** Where the credits are kept. */
  store: CreditStore;
  /**
   * The prover: an instance (the caller owns it), or a function that makes one on first use (the
   * client owns it and destroys it in `close()`). Node: `nodeProver()` from `@zkcredits/client/node`.
   */
  prover: SpendProver | (() => Promise<SpendProver>);
  /** The chain the credits live on, read directly (never through the zkcredits server). */
  chain: ChainOptions;
  /** The deployment the caller chose: a server serving another is refused before anything is proven. */
  expect: { chainId: number; contract: Hex };
  /** Every request to the server (and, by default, to the RPC) goes through it, e.g. a SOCKS fetch. */
  fetch?: FetchFn;
  /**
   * The paid `POST /v1/chat/completions` goes through it instead of `fetch`, e.g. `network.paidFetch`
   * (a fresh SOCKS identity, so a fresh Tor circuit, for every paid call). Default `fetch`.
   */
  paidFetch?: FetchFn;
  /** End-to-end encryption to models the server marks `zkcredits.e2ee === true` (always on for them). */
  e2ee?: E2eeOptions;
  /** Clock (ms since the epoch); default `Date.now`. */
  now?: () => number;
  /** Proofs one request may make before giving up (new roots, credits in use or spent elsewhere); default 4. */
  maxAttempts?: number;
  /**
   * The prover of v2 flat tickets: with it, a chat is paid by a ticket of an open account when
   * there is one (else by a credit). Like `prover`: an instance, or a function the client calls on
   * first use (and destroys in `close()`). Node: `nodeTicketProver()` from `@zkcredits/client/node`.
   */
  ticketProver?: TicketProverOption;
  /**
   * A fresh network identity for one task (`Network.isolatedFetch`): account recovery downloads the
   * spent-ticket list through one, shared with nothing else. Default: `fetch`.
   */
  isolatedFetch?: () => FetchFn;
  /**
   * The prover of v2 metered calls: with it, a chat is paid by a metered account when one has a
   * lane that can pay C_max (else by a flat ticket, else by a credit). Like `prover`: an instance,
   * or a function the client calls on first use. Node: `nodeMeteredProver()` from `@zkcredits/client/node`.
   */
  meteredProver?: MeteredProverOption;
};

export type ChatOptions = { signal?: AbortSignal };

const MODELS_TTL_MS = 60_000;
const MODELS_UNKNOWN_TTL_MS = 5_000;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

export class ZkCreditsClient {
  /**
   * A drop-in `fetch` for OpenAI clients with base URL `<server>/v1`: pays chat completions by
   * proof, passes `GET /v1/models` through, refuses other routes with an OpenAI-shaped error.
   *
   * @example
   * const openai = new OpenAI({ baseURL: `${server}/v1`, apiKey: 'unused', fetch: zk.fetch });
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  /** The server's origin as the client calls it. */
  readonly server: string;
  readonly deployment: DeploymentRef;
  readonly publicClient: PublicClient;

  readonly #api: ServerApi;
  readonly #paidFetch: FetchFn;
  readonly #store: CreditStore;
  readonly #tree: TreeSync;
  readonly #keys: EnclaveKeys;
  readonly #now: () => number;
  readonly #maxAttempts: number;
  readonly #proverOption: ZkCreditsClientOptions['prover'];
  #prover: Promise<SpendProver> | undefined;
  readonly #ticketProverOption: TicketProverOption | undefined;
  #ticketProver: Promise<TicketProverLike & { destroy?(): Promise<void> }> | undefined;
  readonly #spender: TicketSpender;
  readonly #meteredProverOption: MeteredProverOption | undefined;
  #meteredProver: Promise<MeteredProverLike & { destroy?(): Promise<void> }> | undefined;
  readonly #meteredSpender: MeteredSpender;
  readonly #isolatedFetch: () => FetchFn;
  #checked: Promise<ServerConfig> | undefined;
  #v2: Promise<boolean> | undefined;
  #metered: Promise<MeteredConfig | undefined> | undefined;
  #meteredParams: Promise<MeteredParams> | undefined;
  #meteredDeployment: Promise<MeteredDeployment> | undefined;
  #models: { at: number; ttl: number; list: ModelInfo[] } | undefined;

  constructor(options: ZkCreditsClientOptions) {
    if (!Number.isSafeInteger(options.expect.chainId) || options.expect.chainId <= 0 || !ADDRESS.test(options.expect.contract)) {
      throw new ClientError('invalid_request', 'expect needs a chain id and a contract address', { details: `${options.expect.chainId} ${options.expect.contract}` });
    }
    this.server = serverOrigin(options.server);
    const fetchFn: FetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#paidFetch = options.paidFetch ?? fetchFn;
    this.#api = new ServerApi(this.server, fetchFn);
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#maxAttempts = options.maxAttempts ?? 4;
    this.#proverOption = options.prover;
    this.#ticketProverOption = options.ticketProver;
    this.#spender = new TicketSpender(this.#store, () => this.#getTicketProver());
    this.#meteredProverOption = options.meteredProver;
    this.#meteredSpender = new MeteredSpender({
      store: this.#store,
      prover: () => this.#getMeteredProver(),
      deployment: (fresh) => this.#deploymentParams(fresh),
      // The state of the call just made on a lane, through a fresh identity like the paid call itself.
      fetchState: (nullifier, signal) => fetchMeteredState({ server: this.server, fetch: this.#paidFetch, nullifier, ...(signal ? { signal } : {}) }),
      now: () => this.#now(),
    });
    this.#isolatedFetch = options.isolatedFetch ?? (() => fetchFn);
    this.deployment = { chainId: options.expect.chainId, contract: options.expect.contract };
    this.publicClient =
      'publicClient' in options.chain
        ? options.chain.publicClient
        : (createPublicClient({ transport: http(options.chain.rpcUrl, { fetchFn: options.chain.fetch ?? fetchFn }) }) as PublicClient);
    this.#tree = new TreeSync(this.#api, chainTreeCheck(this.publicClient, this.deployment));
    this.#keys = new EnclaveKeys(this.server, fetchFn, options.e2ee ?? {}, this.#now);
    this.fetch = createZkFetch({ origin: this.server, passThrough: fetchFn, chat: (body, o) => this.chat(body, o) });
  }

  /**
   * Fetches the server's config and checks it: the verification key is the one pinned in
   * `@zkcredits/core`, the chain and contract are `expect`'s, and the RPC is on that chain.
   * Throws `vk_mismatch`, `wrong_chain` or `wrong_contract` otherwise; nothing is proven or spent.
   * A passing check is kept for the client's lifetime.
   */
  checkServer(signal?: AbortSignal): Promise<ServerConfig> {
    this.#checked ??= this.#checkServer(signal).catch((error: unknown) => {
      this.#checked = undefined;
      throw error;
    });
    return this.#checked;
  }

  async #checkServer(signal?: AbortSignal): Promise<ServerConfig> {
    const [config] = await Promise.all([this.#api.config(signal), initPoseidon2()]);
    const { chainId, contract } = this.deployment;
    if (config.vkSha256.toLowerCase() !== CREDIT_VK_SHA256) {
      throw new ClientError('vk_mismatch', 'The server verifies proofs with another circuit than this client proves. Nothing was sent.', {
        details: `server verification key SHA-256 ${config.vkSha256.slice(0, 80)}, pinned ${CREDIT_VK_SHA256}`,
      });
    }
    if (config.chainId !== chainId) {
      throw new ClientError('wrong_chain', 'The server serves credits on another chain than the one you chose. Nothing was sent.', {
        details: `server chain ${config.chainId}, expected ${chainId}`,
      });
    }
    if (config.contract.toLowerCase() !== contract.toLowerCase()) {
      throw new ClientError('wrong_contract', 'The server serves another CreditPool than the one you chose. Nothing was sent.', {
        details: `server CreditPool ${config.contract}, expected ${contract}`,
      });
    }
    let rpcChain: number;
    try {
      rpcChain = await this.publicClient.getChainId();
    } catch (cause) {
      throw new ClientError('chain_unavailable', 'The chain RPC could not be read. Nothing was sent.', { details: briefly(cause), cause });
    }
    if (rpcChain !== chainId) {
      throw new ClientError('wrong_chain', 'The chain RPC is on another chain than the one you chose. Nothing was sent.', { details: `RPC chain ${rpcChain}, expected ${chainId}` });
    }
    return config;
  }

  /**
   * Syncs the credit tree from the server, checks it against the chain, and marks credits
   * bought earlier (`pending`) that are now in the tree `unspent`. Returns the counts.
   */
  async sync(signal?: AbortSignal): Promise<{ size: number; root: bigint; credits: Balance }> {
    await this.checkServer(signal);
    const state = await this.#tree.sync(signal);
    await this.#tree.verify(state);
    await this.#reconcile();
    await this.#reconcileAccounts();
    return { ...state, credits: await this.balance() };
  }

  /** This deployment's credits by status, and its v2 accounts with what each can still pay. */
  async balance(): Promise<Balance> {
    const credits = countCredits((await this.#store.list()).filter((r) => r.chainId === this.deployment.chainId && r.contract.toLowerCase() === this.deployment.contract.toLowerCase()));
    return { ...credits, accounts: await this.accounts() };
  }

  /**
   * This deployment's v2 accounts, oldest first: flat ones with the calls each can still pay today,
   * then metered ones with their balance in money and the calls it covers at C_max (from the store
   * alone: the records keep the deployment's C_max and price unit).
   */
  async accounts(): Promise<(AccountBalance | MeteredAccountBalance)[]> {
    return [...(await this.#flatAccounts()), ...(await this.meteredAccounts())];
  }

  /** This deployment's v2 metered accounts, oldest first, with their balances (see `accounts()`). */
  async meteredAccounts(): Promise<MeteredAccountBalance[]> {
    const today = utcDay(this.#now());
    return (await this.#store.listMeteredAccounts())
      .filter((a) => a.chainId === this.deployment.chainId && a.contract.toLowerCase() === this.deployment.contract.toLowerCase())
      .sort((a, b) => a.createdAt - b.createdAt || a.index - b.index)
      .map((a) => {
        const usable = a.status === 'open' && a.expiryDay !== undefined && today <= a.expiryDay && !a.recoveryNeeded;
        const b = meteredBalance(a);
        return {
          kind: 'metered' as const,
          id: a.id,
          status: a.status,
          lanes: a.lanes.length,
          dLane: a.dLane,
          sLane: a.sLane,
          cMax: a.cMax,
          priceUnit: BigInt(a.priceUnit),
          ...(a.token ? { token: a.token } : {}),
          priceUnits: b.priceUnits,
          money: b.money,
          callsAtCmax: usable ? b.callsAtCmax : 0,
          pending: b.pending,
          penalties: b.penalties,
          frozenLanes: b.lanes.filter((l) => l.frozen).length,
          staleLanes: b.lanes.filter((l) => l.stale).length,
          expiryDay: a.expiryDay,
          expired: a.expiryDay !== undefined && today > a.expiryDay,
          recoveryNeeded: a.recoveryNeeded === true,
        };
      });
  }

  async #flatAccounts(): Promise<AccountBalance[]> {
    const today = utcDay(this.#now());
    return (await this.#store.listAccounts())
      .filter((a) => accountOf(a, this.deployment))
      .sort((a, b) => a.createdAt - b.createdAt || a.index - b.index)
      .map((a) => ({
        kind: 'flat' as const,
        id: a.id,
        status: a.status,
        tickets: a.tickets,
        callsLeft: callsLeft(a, today),
        expiryDay: a.expiryDay,
        expired: a.expiryDay !== undefined && today > a.expiryDay,
        inFlight: a.journal.length,
        burned: a.burned,
        recoveryNeeded: a.recoveryNeeded === true,
      }));
  }

  /**
   * Opens one v2 flat account per entry of `tickets` (calls each), paid from the wallet, through
   * core's one opening flow: the account secrets derive from the store's master secret and the
   * records are saved `pending` before the wallet is asked for anything; they are `open` once
   * confirmed. Afterwards chats are paid by their tickets. Rejects with `purchase_failed` (its
   * message says whether anything was paid).
   */
  async openAccounts(tickets: number | readonly number[], options: OpenAccountOptions): Promise<AccountRecord[]> {
    const counts = typeof tickets === 'number' ? [tickets] : [...tickets];
    const walletChain = options.walletClient.chain?.id ?? (await options.walletClient.getChainId().catch(() => undefined));
    if (walletChain !== undefined && walletChain !== this.deployment.chainId) {
      throw new ClientError('purchase_failed', 'The wallet is on another chain. Nothing was paid.', { details: `wallet chain ${walletChain}, accounts on chain ${this.deployment.chainId}` });
    }
    // Before any payment: an account the server cannot take would be money spent on nothing.
    if (!(await this.#v2Ready())) {
      throw new ClientError('purchase_failed', 'This server does not take v2 account tickets. Nothing was paid.', {
        details: 'GET /v2/zkcredits/config answered 404 or lists no "flat" kind; buy v1 credits instead',
      });
    }
    try {
      return await openAccounts({
        publicClient: this.publicClient,
        walletClient: options.walletClient,
        store: this.#store,
        pool: this.deployment.contract,
        chainId: this.deployment.chainId,
        tickets: counts,
        now: this.#now,
        ...(options.permit !== undefined ? { permit: options.permit } : {}),
        ...(options.maxTotal !== undefined ? { maxTotal: options.maxTotal } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
    } catch (cause) {
      const e = cause as { code?: unknown; shortMessage?: unknown };
      if (e.code === 'invalid_request') throw new ClientError('invalid_request', String(e.shortMessage), { cause });
      throw new ClientError('purchase_failed', typeof e.shortMessage === 'string' ? e.shortMessage : 'The accounts could not be opened.', { details: briefly(cause), cause });
    }
  }

  /**
   * Opens one v2 metered account (protocol v2 step 2), paid from the wallet, through core's opening
   * flow: the secret derives from the store's master secret and the record is saved `pending`
   * before the wallet is asked for anything. Amounts are money (token base units), converted with
   * the deployment's price unit: each lane's deposit must be a whole number of price units of at
   * least C_max, its stake at least one. The server must offer metered calls of this deployment
   * (its `/v2/zkcredits/config`, checked against the chain) before anything is paid. Afterwards
   * chats are paid by it while a lane can pay C_max. Rejects with `purchase_failed` (its message
   * says whether anything was paid) or `invalid_request` (nothing was paid).
   *
   * @example
   * await zk.openMetered({ walletClient, lanes: 4, deposit: 10n * 10n ** 18n, stake: 10n ** 18n });
   */
  async openMetered(options: OpenMeteredOptions): Promise<MeteredAccountRecord> {
    const lanesLog2 = [1, 2, 4, 8].indexOf(options.lanes);
    if (lanesLog2 < 0) throw new ClientError('invalid_request', 'An account has 1, 2, 4 or 8 lanes.', { details: `lanes ${options.lanes}`, param: 'lanes' });
    const walletChain = options.walletClient.chain?.id ?? (await options.walletClient.getChainId().catch(() => undefined));
    if (walletChain !== undefined && walletChain !== this.deployment.chainId) {
      throw new ClientError('purchase_failed', 'The wallet is on another chain. Nothing was paid.', { details: `wallet chain ${walletChain}, accounts on chain ${this.deployment.chainId}` });
    }
    await this.checkServer();
    // Before any payment: an account the server cannot serve would be money spent on nothing.
    if (!(await this.#meteredReady())) {
      throw new ClientError('purchase_failed', 'This server does not take metered calls of this deployment. Nothing was paid.', {
        details: 'GET /v2/zkcredits/config lists no "metered" offer, or its C_max, price unit or state key differ from the contract',
      });
    }
    const { cMax, priceUnit } = await this.#readMeteredParams();
    const perLane = (what: string, each: bigint | undefined, total: bigint | undefined): number => {
      if ((each === undefined) === (total === undefined)) {
        throw new ClientError('invalid_request', `Give the ${what} per lane or in total (one of them).`, { param: what });
      }
      const lane = each ?? total! / BigInt(options.lanes);
      if ((each === undefined && lane * BigInt(options.lanes) !== total) || lane % priceUnit !== 0n || lane < 0n) {
        throw new ClientError('invalid_request', `The ${what} per lane must be a whole number of price units (${priceUnit} base units each). Nothing was paid.`, {
          details: `${what} ${each ?? total} base units over ${options.lanes} lanes`,
          param: what,
        });
      }
      return Number(lane / priceUnit > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : lane / priceUnit);
    };
    const dLane = perLane('deposit', options.depositPerLane, options.deposit);
    const sLane = perLane('stake', options.stakePerLane, options.stake);
    if (dLane < cMax) {
      throw new ClientError('invalid_request', 'Each lane must hold at least the most one call can cost (C_max). Nothing was paid.', {
        details: `deposit per lane ${dLane} price units, C_max ${cMax}`,
        param: 'deposit',
      });
    }
    if (sLane < 1) throw new ClientError('invalid_request', 'Each lane needs a stake of at least one price unit. Nothing was paid.', { param: 'stake' });
    let record: MeteredAccountRecord;
    try {
      record = await openMeteredAccount({
        publicClient: this.publicClient,
        walletClient: options.walletClient,
        store: this.#store,
        pool: this.deployment.contract,
        chainId: this.deployment.chainId,
        terms: { dLane, lanesLog2, sLane },
        now: this.#now,
        ...(options.permit !== undefined ? { permit: options.permit } : {}),
        ...(options.maxTotal !== undefined ? { maxTotal: options.maxTotal } : {}),
        ...(options.onStep ? { onStep: options.onStep } : {}),
      });
    } catch (cause) {
      const e = cause as { code?: unknown; shortMessage?: unknown };
      if (e.code === 'invalid_request') throw new ClientError('invalid_request', String(e.shortMessage), { cause });
      throw new ClientError('purchase_failed', typeof e.shortMessage === 'string' ? e.shortMessage : 'The account could not be opened.', { details: briefly(cause), cause });
    }
    // For showing its balance in money later (offline): the token's decimals and symbol.
    const token = await this.#tokenInfo();
    return token ? this.#store.updateMeteredAccount(record.id, { token }).catch(() => record) : record;
  }

  /** The payment token's decimals and symbol, when it says. */
  async #tokenInfo(): Promise<{ decimals: number; symbol?: string } | undefined> {
    try {
      const token = await this.publicClient.readContract({ address: this.deployment.contract, abi: creditPoolAbi, functionName: 'paymentToken' });
      const [decimals, symbol] = await Promise.all([
        this.publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
        this.publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }).catch(() => undefined),
      ]);
      return { decimals, ...(typeof symbol === 'string' && /^[A-Za-z0-9.\-_ ]{1,32}$/.test(symbol) ? { symbol } : {}) };
    } catch {
      return undefined;
    }
  }

  /**
   * Recovers this deployment's accounts from the store's master secret (e.g. after restoring a
   * backup): finds them on chain, then downloads the server's whole spent-ticket list (every
   * bucket, through one isolated network identity; never a question about one ticket) and moves
   * each counter past the tickets already used.
   */
  async recover(signal?: AbortSignal): Promise<RecoveredAccount[]> {
    return this.#recoverWith(recoverAccounts, signal, {
      noV2: 'This zkcredits server does not take v2 accounts, so their tickets cannot be recovered through it.',
      stopped: 'Stopped. Counters found so far were kept.',
      failed: 'The accounts could not be recovered.',
    });
  }

  /**
   * Recovers this deployment's metered accounts (e.g. after restoring a backup): finds them on chain
   * from the master secret, then downloads the server's whole spent list (through one isolated
   * network identity) and marks stale every lane whose next position another copy already used.
   * Lanes continue from the states the store holds; calls whose state is pending are asked for
   * before their lanes are used (`recoverMeteredStates`).
   */
  async recoverMetered(signal?: AbortSignal): Promise<RecoveredMeteredAccount[]> {
    return this.#recoverWith(recoverMeteredAccounts, signal, {
      noV2: 'This zkcredits server does not take v2 accounts, so metered lanes cannot be checked through it.',
      stopped: 'Stopped. Lanes checked so far were kept.',
      failed: 'The metered accounts could not be recovered.',
    });
  }

  /** One recovery from the chain and the server's whole spent list (flat or metered), with its errors as the SDK's. */
  async #recoverWith<T>(
    recover: (parameters: RecoverAccountsParameters & RecoverMeteredAccountsParameters) => Promise<T>,
    signal: AbortSignal | undefined,
    words: { noV2: string; stopped: string; failed: string },
  ): Promise<T> {
    await this.checkServer(signal);
    if (!(await this.#v2Ready(signal))) throw new ClientError('server_unavailable', words.noV2);
    try {
      return await recover({
        store: this.#store,
        publicClient: this.publicClient,
        pool: this.deployment.contract,
        chainId: this.deployment.chainId,
        server: this.server,
        fetch: this.#isolatedFetch(),
        ...(signal ? { signal } : {}),
        now: this.#now,
      });
    } catch (cause) {
      if (signal?.aborted) throw new ClientError('aborted', words.stopped, { cause });
      const e = cause as { code?: unknown; shortMessage?: unknown };
      throw new ClientError(e.code === 'chain_unavailable' ? 'chain_unavailable' : 'server_unavailable', typeof e.shortMessage === 'string' ? e.shortMessage : words.failed, {
        details: briefly(cause),
        cause,
      });
    }
  }

  /** The models on sale, with whether each takes end-to-end encrypted requests (cached up to a minute). */
  async models(signal?: AbortSignal, fresh = false): Promise<ModelInfo[]> {
    const cached = this.#models;
    if (!fresh && cached && this.#now() - cached.at < cached.ttl) return cached.list;
    const list = await this.#api.models(signal);
    this.#models = { at: this.#now(), ttl: list.some((m) => m.e2ee === null) ? MODELS_UNKNOWN_TTL_MS : MODELS_TTL_MS, list };
    return list;
  }

  /** A fresh attestation of `model`'s enclave, verified as requests to it are (the report, passed or not). */
  attest(model: string, signal?: AbortSignal): Promise<AttestationReport> {
    return this.#keys.attest(model, signal);
  }

  /**
   * Buys `n` credits from the wallet's account. The credentials are saved `pending` in the store
   * before the wallet is asked for anything, and become `unspent` once the purchase is confirmed.
   */
  buy(n: number, options: BuyOptions): Promise<CreditRecord[]> {
    return buyInto({ publicClient: this.publicClient, store: this.#store, deployment: this.deployment, now: this.#now }, n, options);
  }

  /**
   * Sends one OpenAI chat request (the JSON body, without `zkcredits`) paid by one credit and
   * returns the answer as the server would give it: SSE when `stream: true`, else one JSON
   * completion. To a model the server marks E2EE, the request is encrypted to its attested
   * enclave and the answer decrypted here. Rejects with a `ClientError`.
   */
  async chat(body: Record<string, unknown>, options: ChatOptions = {}): Promise<Response> {
    const { signal } = options;
    assertUnpaid(body);
    const model = body.model;
    if (typeof model !== 'string' || model === '') throw new ClientError('invalid_request', 'The request names no model.', { param: 'model' });
    await this.checkServer(signal);
    const streams = body.stream === true;
    if (!(await this.#isE2ee(model, signal))) {
      return this.#pay({ body, accept: streams ? 'text/event-stream' : 'application/json', ...(signal ? { signal } : {}) });
    }
    assertE2eeRequest(body); // before the enclave is attested: a refusal costs nothing
    const sealed = sealRequest(body, await this.#keys.key(model, signal));
    let response: Response;
    try {
      response = await this.#pay({ body: sealed.body, headers: sealed.headers, accept: 'text/event-stream', ...(signal ? { signal } : {}) });
    } catch (error) {
      sealed.session.destroy();
      throw error;
    }
    return decryptAnswer(response, sealed.session, { stream: streams, model, onDecryptFailure: () => this.#keys.forget(model) });
  }

  /** Destroys the provers the client made. */
  async close(): Promise<void> {
    const owned = typeof this.#proverOption === 'function' ? this.#prover : undefined;
    const ownedTicket = typeof this.#ticketProverOption === 'function' ? this.#ticketProver : undefined;
    const ownedMetered = typeof this.#meteredProverOption === 'function' ? this.#meteredProver : undefined;
    this.#prover = undefined;
    this.#ticketProver = undefined;
    this.#meteredProver = undefined;
    if (owned) await (await owned.catch(() => undefined))?.destroy?.();
    if (ownedTicket) await (await ownedTicket.catch(() => undefined))?.destroy?.();
    if (ownedMetered) await (await ownedMetered.catch(() => undefined))?.destroy?.();
  }

  /**
   * Asks the server for the signed state of every metered call whose answer never arrived (a lost
   * connection, a crash): `GET /v2/zkcredits/state/{nullifier}` for exactly those calls, each
   * state checked under the on-chain key and made its lane's state. Lanes do this on their own
   * before their next use; this does it now (e.g. for an accurate balance).
   */
  async recoverMeteredStates(signal?: AbortSignal): Promise<LaneRecovery[]> {
    await this.checkServer(signal);
    return this.#meteredSpender.recover(signal ? { signal } : {});
  }

  /**
   * Pays `request` with a metered account when one has a lane that can pay C_max, else with a
   * ticket of an open flat account, else with a credit.
   */
  async #pay(request: PaidChatRequest): Promise<Response> {
    if (this.#meteredProverOption) {
      const response = await sendMeteredChat(
        {
          api: this.#api,
          fetchFn: this.#paidFetch,
          store: this.#store,
          deployment: this.deployment,
          tree: this.#tree,
          spender: this.#meteredSpender,
          meteredReady: (signal) => this.#meteredReady(signal),
          now: this.#now,
          maxAttempts: this.#maxAttempts,
        },
        request,
      );
      if (response) return response;
    }
    if (this.#ticketProverOption) {
      const response = await sendTicketChat(
        {
          api: this.#api,
          fetchFn: this.#paidFetch,
          store: this.#store,
          deployment: this.deployment,
          tree: this.#tree,
          spender: this.#spender,
          v2Ready: (signal) => this.#v2Ready(signal),
          now: this.#now,
          maxAttempts: this.#maxAttempts,
        },
        request,
      );
      if (response) return response;
    }
    return (await sendPaidChat(this.#context(), request)).response;
  }

  /**
   * Whether the server takes v2 tickets of this deployment (checked once, like `checkServer`):
   * false when it has no v2 routes; `vk_mismatch` when it verifies tickets with another circuit.
   */
  #v2Ready(signal?: AbortSignal): Promise<boolean> {
    this.#v2 ??= (async () => {
      await this.checkServer(signal);
      const config = await this.#api.v2Config(signal);
      if (!config || !config.kinds.includes('flat')) return false;
      if (config.ticketVkSha256.toLowerCase() !== TICKET_VK_SHA256) {
        throw new ClientError('vk_mismatch', 'The server verifies tickets with another circuit than this client proves. Nothing was sent.', {
          details: `server ticket key SHA-256 ${config.ticketVkSha256.slice(0, 80)}, pinned ${TICKET_VK_SHA256}`,
        });
      }
      if (config.chainId !== this.deployment.chainId || config.contract.toLowerCase() !== this.deployment.contract.toLowerCase()) {
        throw new ClientError('wrong_contract', 'The server takes v2 tickets for another deployment than the one you chose. Nothing was sent.', {
          details: `server ${config.chainId} ${config.contract}, expected ${this.deployment.chainId} ${this.deployment.contract}`,
        });
      }
      return true;
    })().catch((error: unknown) => {
      this.#v2 = undefined;
      throw error;
    });
    return this.#v2;
  }

  /**
   * The server's metered offer when it takes metered calls of this deployment as the chain defines
   * them (checked once, like `checkServer`): its C_max, price unit and state key are the
   * contract's, and its metered verification key (when it names one) is the pinned one. Undefined
   * when it takes none, or when what it says differs from the chain (it would refuse the calls, or
   * sign under a key the client refuses): the client then pays another way.
   */
  #meteredReady(signal?: AbortSignal): Promise<MeteredConfig | undefined> {
    this.#metered ??= (async () => {
      if (!(await this.#v2Ready(signal))) return undefined;
      const config = (await this.#api.v2Config(signal))?.metered;
      if (!config?.stateKey) return undefined;
      if (config.vkSha256 !== undefined && config.vkSha256.toLowerCase() !== METERED_VK_SHA256) {
        throw new ClientError('vk_mismatch', 'The server verifies metered calls with another circuit than this client proves. Nothing was sent.', {
          details: `server metered key SHA-256 ${config.vkSha256.slice(0, 80)}, pinned ${METERED_VK_SHA256}`,
        });
      }
      const [params, { stateKeys }] = await Promise.all([this.#readMeteredParams(), this.#deploymentParams(false)]);
      if (params.cMax !== config.cMax || params.priceUnit !== config.priceUnit) return undefined;
      if (stateKeys.current.x !== config.stateKey.x || stateKeys.current.y !== config.stateKey.y) return undefined;
      return config;
    })().catch((error: unknown) => {
      this.#metered = undefined;
      throw error;
    });
    return this.#metered;
  }

  /** The deployment's immutable metered constants, read from the chain once. */
  #readMeteredParams(): Promise<MeteredParams> {
    this.#meteredParams ??= readMeteredParams(this.publicClient, this.deployment.contract).catch((cause: unknown) => {
      this.#meteredParams = undefined;
      throw new ClientError('chain_unavailable', 'The chain could not be read for the metered constants.', { details: briefly(cause), cause });
    });
    return this.#meteredParams;
  }

  /** C_max and the state keys from the chain; `fresh` reads the keys again (a rotation may have happened). */
  #deploymentParams(fresh: boolean): Promise<MeteredDeployment> {
    if (fresh || !this.#meteredDeployment) {
      this.#meteredDeployment = (async () => {
        const [{ cMax }, stateKeys] = await Promise.all([this.#readMeteredParams(), readStateKeys(this.publicClient, this.deployment.contract)]);
        return { cMax, stateKeys };
      })().catch((cause: unknown) => {
        this.#meteredDeployment = undefined;
        throw new ClientError('chain_unavailable', 'The chain could not be read for the state keys.', { details: briefly(cause), cause });
      });
    }
    return this.#meteredDeployment;
  }

  #getMeteredProver(): Promise<MeteredProverLike> {
    const option = this.#meteredProverOption;
    if (!option) return Promise.reject(new ClientError('prover_failed', 'No metered prover was given to this client.'));
    this.#meteredProver ??= typeof option === 'function'
      ? option().catch((cause: unknown) => {
          this.#meteredProver = undefined;
          throw new ClientError('prover_failed', 'The metered prover could not be started. Nothing was sent.', { details: briefly(cause), cause });
        })
      : Promise.resolve(option);
    return this.#meteredProver;
  }

  #getTicketProver(): Promise<TicketProverLike> {
    const option = this.#ticketProverOption;
    if (!option) return Promise.reject(new ClientError('prover_failed', 'No ticket prover was given to this client.'));
    this.#ticketProver ??= typeof option === 'function'
      ? option().catch((cause: unknown) => {
          this.#ticketProver = undefined;
          throw new ClientError('prover_failed', 'The ticket prover could not be started. No ticket was sent.', { details: briefly(cause), cause });
        })
      : Promise.resolve(option);
    return this.#ticketProver;
  }

  /** Accounts whose opening was not confirmed here (`pending`, or given up): their on-chain slot says whether they opened. */
  async #reconcileAccounts(): Promise<void> {
    for (const a of await this.#store.listAccounts()) {
      if ((a.status !== 'pending' && a.status !== 'abandoned') || !accountOf(a, this.deployment)) continue;
      let slot: Awaited<ReturnType<typeof readAccount>>;
      try {
        slot = await readAccount(this.publicClient, this.deployment.contract, BigInt(a.accountId));
      } catch (cause) {
        throw new ClientError('chain_unavailable', 'The chain could not be read to check pending accounts.', { details: briefly(cause), cause });
      }
      if (slot.status === 0 || slot.tickets !== a.tickets) continue;
      await this.#store.updateAccount(a.id, { status: slot.status === 2 ? 'revoked' : 'open', leafIndex: slot.leafIndex, expiryDay: slot.expiryDay });
    }
    for (const a of await this.#store.listMeteredAccounts()) {
      if ((a.status !== 'pending' && a.status !== 'abandoned') || a.chainId !== this.deployment.chainId || a.contract.toLowerCase() !== this.deployment.contract.toLowerCase()) continue;
      let slot: Awaited<ReturnType<typeof readAccount>>;
      try {
        slot = await readAccount(this.publicClient, this.deployment.contract, BigInt(a.accountId));
      } catch (cause) {
        throw new ClientError('chain_unavailable', 'The chain could not be read to check pending accounts.', { details: briefly(cause), cause });
      }
      if (slot.status === 0 || slot.kind !== 2) continue;
      await this.#store.updateMeteredAccount(a.id, { status: slot.status === 2 ? 'revoked' : 'open', leafIndex: slot.leafIndex, expiryDay: slot.expiryDay });
    }
  }

  /** Whether requests to `model` must be end-to-end encrypted; fails closed while the server does not know. */
  async #isE2ee(model: string, signal?: AbortSignal): Promise<boolean> {
    let info = (await this.models(signal)).find((m) => m.id === model);
    if (info?.e2ee === null) info = (await this.models(signal, true)).find((m) => m.id === model);
    // Not on the list: the server refuses the model before any credit is reserved.
    if (!info) return false;
    if (info.e2ee === null) {
      throw new ClientError('e2ee_unknown', `The server does not know yet whether ${model} takes end-to-end encrypted requests, so nothing was sent. Retry in a few seconds.`, { retryAfter: 5 });
    }
    return info.e2ee;
  }

  #context(): PaidChatContext {
    return {
      api: this.#api,
      fetchFn: this.#paidFetch,
      store: this.#store,
      deployment: this.deployment,
      tree: this.#tree,
      prover: () => this.#getProver(),
      ready: async (signal) => {
        await this.checkServer(signal);
      },
      reconcile: () => this.#reconcile(),
      now: this.#now,
      maxAttempts: this.#maxAttempts,
    };
  }

  #getProver(): Promise<SpendProver> {
    const option = this.#proverOption;
    this.#prover ??= typeof option === 'function'
      ? option().catch((cause: unknown) => {
          this.#prover = undefined;
          throw new ClientError('prover_failed', 'The prover could not be started. No credit was used.', { details: briefly(cause), cause });
        })
      : Promise.resolve(option);
    return this.#prover;
  }

  /** Marks this deployment's `pending` (or given-up) credits that are in the synced tree `unspent`. */
  async #reconcile(): Promise<void> {
    const tree = this.#tree.tree;
    for (const r of await this.#store.list()) {
      if ((r.status !== 'pending' && r.status !== 'abandoned') || !belongsTo(r, this.deployment)) continue;
      const leafIndex = tree.indexOf(BigInt(r.commitment));
      if (leafIndex >= 0) await this.#store.update(r.id, { status: 'unspent', leafIndex });
    }
  }
}
