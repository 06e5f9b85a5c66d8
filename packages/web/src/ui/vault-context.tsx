'use client';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Vault, type CreditCounts } from '../vault';

type VaultState =
  | { status: 'loading' }
  | { status: 'missing' }
  | { status: 'locked' }
  | { status: 'unlocked'; vault: Vault };

type VaultContextValue = {
  state: VaultState;
  counts: CreditCounts;
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

  useEffect(() => {
    Vault.exists()
      .then((exists) => setState({ status: exists ? 'locked' : 'missing' }))
      .catch(() => setState({ status: 'missing' }));
  }, []);

  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  const create = useCallback(async (passphrase: string) => setState({ status: 'unlocked', vault: await Vault.create(passphrase) }), []);
  const unlock = useCallback(async (passphrase: string) => setState({ status: 'unlocked', vault: await Vault.unlock(passphrase) }), []);
  const restore = useCallback(
    async (text: string, passphrase: string) => setState({ status: 'unlocked', vault: await Vault.restore(text, passphrase) }),
    [],
  );
  const lock = useCallback(() => {
    setState((s) => {
      if (s.status === 'unlocked') s.vault.lock();
      return { status: 'locked' };
    });
  }, []);

  const counts = useMemo<CreditCounts>(
    () => (state.status === 'unlocked' ? state.vault.counts() : { unspent: 0, spent: 0, pending: 0, archived: 0 }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [state, version],
  );

  const value = useMemo(
    () => ({ state, counts, version, refresh, create, unlock, restore, lock }),
    [state, counts, version, refresh, create, unlock, restore, lock],
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
