'use client';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { usePublicClient } from 'wagmi';
import { recoverVaultAccounts } from '../accounts/recover';
import { needsRecovery, totalCallsLeft } from '../accounts/usable';
import { onMeteredChange } from '../metered/events';
import { meteredNeedsRecovery, totalMetered } from '../metered/usable';
import { Vault, type CreditCounts } from '../vault';
import { useConfig } from './config-context';

type VaultState =
  | { status: 'loading' }
  | { status: 'missing' }
  | { status: 'locked' }
  | { status: 'unlocked'; vault: Vault; restored?: boolean };

/**
 * Recovery of v2 accounts after a backup was restored or imported (src/accounts/recover.ts):
 * until it is `done`, no account ticket is used.
 */
export type RecoveryState = { status: 'idle' } | { status: 'running' } | { status: 'done'; accounts: number } | { status: 'failed'; error: unknown };

type VaultContextValue = {
  state: VaultState;
  counts: CreditCounts;
  /** Calls left over this deployment's usable v2 accounts. */
  calls: number;
  /** Whether the vault holds any v2 account of this deployment (flat or metered, whatever its state). */
  hasAccounts: boolean;
  /**
   * This deployment's metered accounts, when the vault has any: their balance (Σ lanes, price units
   * and token base units; a call in flight at its worst case) and the calls it still covers at C_max.
   */
  metered?: { priceUnits: number; money: bigint; calls: number; priceUnit: bigint; token?: { decimals: number; symbol?: string } };
  recovery: RecoveryState;
  /** Runs account recovery now (after an import; unlock and restore start it themselves when needed). */
  requestRecovery(): void;
  /** Bumped after every change to the vault, for re-rendering. */
  version: number;
  refresh(): void;
  create(passphrase: string): Promise<void>;
  unlock(passphrase: string): Promise<void>;
  restore(text: string, passphrase: string): Promise<void>;
  lock(): void;
};

const VaultContext = createContext<VaultContextValue | null>(null);

export function VaultProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<VaultState>({ status: 'loading' });
  const [version, setVersion] = useState(0);
  const config = useConfig();
  const client = usePublicClient({ chainId: config.chainId });
  const [recovery, setRecovery] = useState<RecoveryState>({ status: 'idle' });
  const [recoveryAsked, setRecoveryAsked] = useState(0);
  const handledAsk = useRef(0);
  const requestRecovery = useCallback(() => setRecoveryAsked((n) => n + 1), []);

  // Lanes change outside React (settlements in the worker, background state questions).
  useEffect(() => onMeteredChange(() => setVersion((v) => v + 1)), []);

  useEffect(() => {
    Vault.exists()
      .then((exists) => setState({ status: exists ? 'locked' : 'missing' }))
      .catch(() => setState({ status: 'missing' }));
  }, []);

  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  const create = useCallback(async (passphrase: string) => setState({ status: 'unlocked', vault: await Vault.create(passphrase) }), []);
  const unlock = useCallback(async (passphrase: string) => setState({ status: 'unlocked', vault: await Vault.unlock(passphrase) }), []);
  const restore = useCallback(
    async (text: string, passphrase: string) => setState({ status: 'unlocked', vault: await Vault.restore(text, passphrase), restored: true }),
    [],
  );
  const lock = useCallback(() => {
    setState((s) => {
      if (s.status === 'unlocked') s.vault.lock();
      return { status: 'locked' };
    });
  }, []);

  useEffect(() => {
    // A restored or imported backup may be older than its accounts' last calls: recover before any is used.
    if (state.status !== 'unlocked' || !client) return;
    const vault = state.vault;
    // Forced once right after a restore or an import: accounts may be on chain without a record.
    const force = recoveryAsked !== handledAsk.current || state.restored === true;
    handledAsk.current = recoveryAsked;
    if (!force && !needsRecovery(vault.accounts(), config.chainId, config.pool) && !meteredNeedsRecovery(vault.meteredAccounts(), config.chainId, config.pool)) return;
    let stopped = false;
    void (async () => {
      setRecovery({ status: 'running' });
      try {
        const recovered = await recoverVaultAccounts(vault, client, config.pool, config.chainId, { force });
        if (!stopped) setRecovery(recovered ? { status: 'done', accounts: recovered.length } : { status: 'idle' });
      } catch (error) {
        if (!stopped) setRecovery({ status: 'failed', error });
      } finally {
        if (!stopped) setVersion((v) => v + 1);
      }
    })();
    return () => {
      stopped = true;
    };
  }, [state, client, recoveryAsked, config.pool, config.chainId]);

  const counts = useMemo<CreditCounts>(
    () => (state.status === 'unlocked' ? state.vault.counts() : { unspent: 0, spent: 0, pending: 0, archived: 0 }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [state, version],
  );

  const [calls, hasAccounts, metered] = useMemo((): [number, boolean, VaultContextValue['metered']] => {
    if (state.status !== 'unlocked') return [0, false, undefined];
    const ours = (a: { chainId: number; contract: string }) => a.chainId === config.chainId && a.contract.toLowerCase() === config.pool.toLowerCase();
    const accounts = state.vault.accounts();
    const meteredAccounts = state.vault.meteredAccounts().filter(ours);
    // Every metered record keeps its deployment's C_max and price unit (immutable): no chain read.
    const first = meteredAccounts[0];
    const total = first ? totalMetered(meteredAccounts, config.chainId, config.pool, { cMax: first.cMax, priceUnit: BigInt(first.priceUnit) }) : undefined;
    return [
      totalCallsLeft(accounts, config.chainId, config.pool),
      accounts.some(ours) || meteredAccounts.length > 0,
      total && first
        ? {
            priceUnits: total.priceUnits,
            money: BigInt(total.priceUnits) * BigInt(first.priceUnit),
            calls: total.calls,
            priceUnit: BigInt(first.priceUnit),
            ...(first.token ? { token: first.token } : {}),
          }
        : undefined,
    ];
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state, version, config.chainId, config.pool]);

  const value = useMemo(
    () => ({ state, counts, calls, hasAccounts, metered, recovery, requestRecovery, version, refresh, create, unlock, restore, lock }),
    [state, counts, calls, hasAccounts, metered, recovery, requestRecovery, version, refresh, create, unlock, restore, lock],
  );
  return <VaultContext.Provider value={value}>{children}</VaultContext.Provider>;
}

export function useVault(): VaultContextValue {
  const ctx = useContext(VaultContext);
  if (!ctx) throw new Error('useVault outside VaultProvider');
  return ctx;
}

export function useUnlockedVault(): Vault {
  const { state } = useVault();
  if (state.status !== 'unlocked') throw new Error('vault is locked');
  return state.vault;
}
