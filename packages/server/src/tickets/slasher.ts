import { randomUUID } from 'node:crypto';
import { creditPoolAbi, findErrorByName, waitForReceipt } from '@zkcredits/core';
import type { Account, Chain, PublicClient, Transport, WalletClient } from 'viem';
import type { AccountReader } from '../chain/accounts.js';
import type { Logger } from '../logger.js';
import { hex32, type EvidenceRecord, type SlashState, type Store } from '../store/index.js';

export type SlasherDeps = {
  store: Store;
  accounts: AccountReader;
  client: PublicClient;
  /** The operator's key (ZKC_SLASHER_KEY); without it evidence waits, `pending`, and revocation holds. */
  wallet: WalletClient<Transport, Chain, Account> | undefined;
  contract: `0x${string}`;
  logger: Logger;
  now: () => number;
  /** Between two rounds over unsettled evidence (a revocation starts one at once). */
  intervalMs: number;
  /** How long a replica holds one piece of evidence while it sends and waits: no other sends meanwhile. */
  leaseMs: number;
};

type Outcome = { state: SlashState; tx?: `0x${string}` | null; error?: string | null };

/** Evidence looked at per round (evidence is rare: a backlog drains by this much per interval). */
const BATCH = 16;
/** How long `stop()` waits for a round in progress (it may be waiting for a receipt; its lease covers it). */
const STOP_WAIT_MS = 5000;

/**
 * Publishes evidence on-chain: `slash(nf, x1, y1, x2, y2)` from the operator's key, for every
 * piece of evidence still `pending` (or `sent` without a receipt), in the background: at start,
 * right after a revocation, and every `intervalMs`. The database decides which replica sends:
 * each piece is leased to one replica at a time. Before sending, the account's on-chain status is
 * read: an account already slashed (by another replica, another gateway or anyone holding the
 * evidence) is not slashed again. The evidence itself never reaches a log: it reveals `k`.
 */
export class Slasher {
  private readonly owner = randomUUID();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private waitingWithoutKey = -1;

  constructor(private readonly deps: SlasherDeps) {
    this.log = deps.logger.child({ subsystem: 'slasher' });
  }

  /** The address that pays for slashes, if a key is configured. */
  get address(): `0x${string}` | undefined {
    return this.deps.wallet?.account.address;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /** Starts a round now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.round()
      .catch((err: unknown) => this.log.warn({ err: safeError(err) }, 'slash round failed; retrying later'))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer = setTimeout(() => this.kick(), this.deps.intervalMs);
        this.timer.unref();
      });
  }

  /**
   * Stops the rounds. A round still waiting for a receipt after a few seconds is left behind: its
   * evidence stays leased until the lease runs out, then any replica reads the receipt.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** One pass over the evidence not yet settled; resolves when done. */
  async round(): Promise<void> {
    const { store, now } = this.deps;
    const due = await store.unsettledSlashes(now(), BATCH);
    if (!this.deps.wallet) {
      if (due.length !== this.waitingWithoutKey) {
        this.waitingWithoutKey = due.length;
        if (due.length > 0) this.log.warn({ evidence: due.length }, 'evidence waits to be published: set ZKC_SLASHER_KEY (or ZKC_SLASHER_KEY_FILE); the accounts stay revoked meanwhile');
      }
      return;
    }
    for (const e of due) {
      if (this.stopped) return;
      if (!(await store.claimSlash(e.nullifier, this.owner, now(), this.deps.leaseMs))) continue;
      let outcome: Outcome;
      try {
        outcome = await this.settle(e);
      } catch (err) {
        outcome = failureOutcome(err);
      }
      await store.recordSlash(e.nullifier, this.owner, outcome, now());
      const log = { account: hex32(e.accountId), state: outcome.state, tx: outcome.tx ?? e.slashTx ?? undefined, error: outcome.error ?? undefined, attempt: e.slashAttempts + 1 };
      if (outcome.state === 'failed') this.log.error(log, 'the contract refused the evidence');
      else if (outcome.state === 'pending') this.log.warn(log, 'slash not published yet; retrying later');
      else this.log.info(log, 'slash settled');
    }
  }

  private async settle(e: EvidenceRecord): Promise<Outcome> {
    const { client, contract, accounts, store, now } = this.deps;
    const wallet = this.deps.wallet!;
    if (e.slashTx) {
      // Sent before (by any replica): its receipt decides, if there is one.
      const receipt = await client.getTransactionReceipt({ hash: e.slashTx }).catch(() => null);
      if (receipt?.status === 'success') return { state: 'slashed' };
    }
    const account = await accounts.readAccount(e.accountId);
    if (account.status === 'slashed') return { state: 'already_slashed' };
    if (account.status === 'none') return { state: 'pending', error: 'the account is not on the chain (yet)' };

    const args = [e.nullifier, e.x1, e.y1, e.x2, e.y2] as const;
    // Simulated first: evidence the contract would refuse costs no gas.
    const { request } = await client.simulateContract({ address: contract, abi: creditPoolAbi, functionName: 'slash', args, account: wallet.account });
    const hash = await wallet.writeContract(request);
    await store.markSlashSent(e.nullifier, this.owner, hash, now());
    const receipt = await waitForReceipt(client, { hash, timeoutMs: Math.max(1000, Math.floor(this.deps.leaseMs / 2)) }).catch(() => null);
    if (!receipt) return { state: 'sent', tx: hash, error: 'no receipt yet' };
    if (receipt.status === 'success') return { state: 'slashed', tx: hash };
    return { state: 'pending', tx: hash, error: 'the slash transaction reverted' };
  }
}

/** How a failed attempt ends: by the contract's custom error when it gave one. */
function failureOutcome(err: unknown): Outcome {
  const revert = findErrorByName(err, 'ContractFunctionRevertedError') as { data?: { errorName?: string } } | undefined;
  const name = revert?.data?.errorName;
  if (name === 'AccountNotActive') return { state: 'already_slashed' };
  if (name === 'InvalidEvidence') return { state: 'failed', error: name };
  return { state: 'pending', error: name ?? safeError(err) };
}

/**
 * An error as words safe for a log line and the database: its name and the first line of viem's
 * short message, with long hex (call data, arguments: the evidence reveals `k`) cut out.
 */
export function safeError(err: unknown): string {
  const e = err as { name?: unknown; shortMessage?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const short = typeof e?.shortMessage === 'string' ? e.shortMessage.split('\n')[0]!.replace(/0x[0-9a-fA-F]{41,}/g, '0x…') : '';
  return short ? `${name}: ${short.slice(0, 200)}` : name;
}
