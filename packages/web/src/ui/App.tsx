'use client';
import { ConnectButton } from '@rainbow-me/rainbowkit';
import { useEffect, useMemo, useState } from 'react';
import { usePublicClient } from 'wagmi';
import { reconcileAccounts } from '../accounts/reconcile';
import { reconcilePending } from '../chain/reconcile';
import { hasPendingLanes, recoverPendingLanes } from '../metered/recover';
import { prover } from '../prover/client';
import { BuyScreen } from './BuyScreen';
import { ChainResetNotice } from './ChainResetNotice';
import { ChatScreen } from './ChatScreen';
import { RecoveryNotice } from './RecoveryNotice';
import { VaultGate } from './VaultGate';
import { VaultScreen } from './VaultScreen';
import { useConfig } from './config-context';
import { useMoneyFormat } from './hooks';
import { useVault } from './vault-context';
import { useWalletPresence } from './wallet-presence';

type Screen = 'chat' | 'buy' | 'vault';

const SCREENS: { id: Screen; label: string }[] = [
  { id: 'chat', label: 'Chat' },
  { id: 'buy', label: 'Buy credits' },
  { id: 'vault', label: 'Vault' },
];

function Tabs({ screen, go, label }: { screen: Screen; go(s: Screen): void; label: string }) {
  return (
    <nav className="tabs" aria-label={label}>
      {SCREENS.map((s) => (
        <button key={s.id} className="tab" type="button" aria-current={screen === s.id ? 'page' : undefined} onClick={() => go(s.id)}>
          {s.label}
        </button>
      ))}
    </nav>
  );
}

/** Phones: the header's navigation and wallet button live in a menu the menu button opens. */
function useMenu() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);
  return [open, setOpen] as const;
}

/**
 * Finds pending purchases and account openings on chain after unlock (reload, crash) and while
 * any are pending; learns of accounts the chain says were slashed; asks for the state of metered
 * lanes whose last call has none yet (that call only), and again while the server has not signed it.
 */
function useReconcile() {
  const config = useConfig();
  const client = usePublicClient({ chainId: config.chainId });
  const { state, counts, refresh, version } = useVault();
  const vault = state.status === 'unlocked' ? state.vault : undefined;
  const pendingAccounts = !!vault?.accounts().some((a) => a.status === 'pending') || !!vault?.meteredAccounts().some((a) => a.status === 'pending');
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const pendingLanes = useMemo(() => !!vault && hasPendingLanes(vault, config.chainId, config.pool), [vault, version, config.chainId, config.pool]);
  useEffect(() => {
    if (!vault || !client) return;
    let stopped = false;
    const run = () =>
      Promise.all([
        reconcilePending(client, vault, config.pool, config.chainId).catch(() => []),
        reconcileAccounts(client, vault, config.pool, config.chainId).catch(() => []),
        recoverPendingLanes(vault, prover(), client, config.pool, config.chainId).catch(() => 0),
      ]).then(([credits, accounts, lanes]) => credits.length + accounts.length + lanes > 0 && !stopped && refresh());
    void run();
    const timer = counts.pending > 0 || pendingAccounts || pendingLanes ? setInterval(run, 4000) : undefined;
    return () => {
      stopped = true;
      if (timer) clearInterval(timer);
    };
  }, [vault, client, counts.pending > 0, pendingAccounts, pendingLanes]); // eslint-disable-line react-hooks/exhaustive-deps
}

export function App() {
  const { state, counts, calls, hasAccounts, metered } = useVault();
  const money = useMoneyFormat(metered?.token);
  const [screen, setScreen] = useState<Screen>('chat');
  const [menuOpen, setMenuOpen] = useMenu();
  const wallet = useWalletPresence();
  useReconcile();
  const unlocked = state.status === 'unlocked';
  const canConnect = wallet !== 'absent';
  const go = (s: Screen) => {
    setScreen(s);
    setMenuOpen(false);
  };
  const connect = <ConnectButton showBalance={false} chainStatus="icon" accountStatus="address" />;

  useEffect(() => {
    if (unlocked && counts.unspent === 0 && counts.pending === 0 && counts.spent === 0 && !hasAccounts) setScreen('buy');
  }, [unlocked]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand"><span className="brand-mark">zk</span>zkcredits</div>
        {unlocked && <Tabs screen={screen} go={go} label="Main" />}
        <div className="topbar-right">
          {unlocked && (
            <span className={`pill num${counts.pending ? ' warn' : ''}`} data-testid="credit-pill" title="Credits in your vault">
              <span className="dot" />
              <span className="pill-text">
                {counts.unspent} credit{counts.unspent === 1 ? '' : 's'}
                {counts.pending ? ` · ${counts.pending} pending` : ''}
                {hasAccounts && !(metered && calls === 0) ? ` · ${calls} call${calls === 1 ? '' : 's'}` : ''}
                {metered && money ? <span data-testid="metered-pill"> · {money(metered.money)}</span> : null}
              </span>
            </span>
          )}
          {canConnect && <div className="wide-only">{connect}</div>}
          {(unlocked || canConnect) && (
            <button
              className="btn ghost menu-button"
              type="button"
              aria-label="Menu"
              aria-expanded={menuOpen}
              aria-controls="menu"
              onClick={() => setMenuOpen((o) => !o)}
            >
              <span aria-hidden="true">{menuOpen ? '✕' : '☰'}</span>
            </button>
          )}
        </div>
        {menuOpen && (
          <div id="menu" className="menu-panel">
            {unlocked && <Tabs screen={screen} go={go} label="Menu" />}
            {canConnect && <div className="menu-connect">{connect}</div>}
          </div>
        )}
      </header>
      {unlocked && <ChainResetNotice />}
      {unlocked && <RecoveryNotice />}
      <main onClick={() => menuOpen && setMenuOpen(false)}>
        {state.status === 'loading' ? null : !unlocked ? (
          <VaultGate />
        ) : screen === 'chat' ? (
          <ChatScreen onBuy={() => setScreen('buy')} />
        ) : screen === 'buy' ? (
          <BuyScreen onDone={() => setScreen('chat')} />
        ) : (
          <VaultScreen />
        )}
      </main>
    </div>
  );
}
