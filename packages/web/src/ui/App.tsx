'use client';
import { ConnectButton } from '@rainbow-me/rainbowkit';
import { useEffect, useState } from 'react';
import { usePublicClient } from 'wagmi';
import { reconcilePending } from '../chain/reconcile';
import { BuyScreen } from './BuyScreen';
import { ChatScreen } from './ChatScreen';
import { VaultGate } from './VaultGate';
import { VaultScreen } from './VaultScreen';
import { useConfig } from './config-context';
import { useVault } from './vault-context';

type Screen = 'chat' | 'buy' | 'vault';

/** Finds pending purchases on chain after unlock (reload, crash) and while any are pending. */
function useReconcile() {
  const config = useConfig();
  const client = usePublicClient({ chainId: config.chainId });
  const { state, counts, refresh } = useVault();
  const vault = state.status === 'unlocked' ? state.vault : undefined;
  useEffect(() => {
    if (!vault || !client) return;
    let stopped = false;
    const run = () =>
      reconcilePending(client, vault, config.pool, config.chainId)
        .then((changed) => changed.length > 0 && !stopped && refresh())
        .catch(() => undefined);
    void run();
    const timer = counts.pending > 0 ? setInterval(run, 4000) : undefined;
    return () => {
      stopped = true;
      if (timer) clearInterval(timer);
    };
  }, [vault, client, counts.pending > 0]); // eslint-disable-line react-hooks/exhaustive-deps
}

export function App() {
  const { state, counts } = useVault();
  const [screen, setScreen] = useState<Screen>('chat');
  useReconcile();
  const unlocked = state.status === 'unlocked';

  useEffect(() => {
    if (unlocked && counts.unspent === 0 && counts.pending === 0 && counts.spent === 0) setScreen('buy');
  }, [unlocked]); // eslint-disable-line react-hooks/exhaustive-deps

  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand"><span className="brand-mark">zk</span>zkcredits</div>
        {unlocked && (
          <nav className="tabs" aria-label="Main">
            <button className="tab" type="button" aria-current={screen === 'chat' ? 'page' : undefined} onClick={() => setScreen('chat')}>Chat</button>
            <button className="tab" type="button" aria-current={screen === 'buy' ? 'page' : undefined} onClick={() => setScreen('buy')}>Buy credits</button>
            <button className="tab" type="button" aria-current={screen === 'vault' ? 'page' : undefined} onClick={() => setScreen('vault')}>Vault</button>
          </nav>
        )}
        <div className="topbar-right">
          {unlocked && (
            <span className={`pill num${counts.pending ? ' warn' : ''}`} data-testid="credit-pill" title="Credits in your vault">
              <span className="dot" />
              {counts.unspent} credit{counts.unspent === 1 ? '' : 's'}
              {counts.pending ? ` · ${counts.pending} pending` : ''}
            </span>
          )}
          <ConnectButton showBalance={false} chainStatus="icon" accountStatus="address" />
        </div>
      </header>
      <main>
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
