'use client';
import { ConnectButton } from '@rainbow-me/rainbowkit';
import type { ReactNode } from 'react';
import { useAccount, useChainId, useSwitchChain } from 'wagmi';
import { chainFor } from '../chain/wagmi';
import { useConfig } from './config-context';
import { FIND_WALLET_URL, useWalletPresence } from './wallet-presence';

/**
 * The wallet part of a purchase: no wallet in this browser (where to find one), connect, switch
 * to the app's chain; once all is well, `children` (the pay button).
 */
export function WalletAction({ children, onError }: { children: ReactNode; onError(error: unknown): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const { isConnected } = useAccount();
  const walletChainId = useChainId();
  const { switchChainAsync } = useSwitchChain();
  const wallet = useWalletPresence();
  if (!isConnected && wallet === 'absent') {
    return (
      <div className="notice info stack-sm" data-testid="no-wallet">
        <b>No wallet found in this browser.</b>
        <span>
          Paying for credits needs an Ethereum wallet, such as a browser extension (MetaMask, Rabby, Coinbase Wallet…).
          Install one, then reload this page.
        </span>
        <a href={FIND_WALLET_URL} target="_blank" rel="noopener noreferrer">Find a wallet on ethereum.org ↗</a>
      </div>
    );
  }
  if (!isConnected) {
    return (
      <ConnectButton.Custom>
        {({ openConnectModal }) => <button className="btn primary block" type="button" onClick={openConnectModal}>Connect wallet</button>}
      </ConnectButton.Custom>
    );
  }
  if (walletChainId !== config.chainId) {
    return <button className="btn primary block" type="button" onClick={() => switchChainAsync({ chainId: config.chainId }).catch(onError)}>Switch to {chain.name}</button>;
  }
  return <>{children}</>;
}

/** The steps of a purchase, with the current one spinning and the ones before it ticked. */
export function StepList<S extends string>({ steps, order, step }: { steps: { key: S[]; label: string }[]; order: readonly S[]; step: S | null }) {
  const stepIndex = step ? order.indexOf(step) : -1;
  const done = step === order[order.length - 1];
  return (
    <ol className="steps">
      {steps.map((s, i) => {
        const first = order.indexOf(s.key[0]!);
        const last = order.indexOf(s.key[s.key.length - 1]!);
        const state = done || stepIndex > last ? 'done' : stepIndex >= first ? 'active' : '';
        return (
          <li key={s.label} className={state}>
            <span className="mark">{state === 'done' ? '✓' : state === 'active' ? <span className="spinner" /> : i + 1}</span>
            {s.label}
          </li>
        );
      })}
    </ol>
  );
}

/**
 * How many to buy: − / number / + and preset chips, kept within 1..`max` by the buttons (the field
 * accepts 0 while typing; the pay button refuses it).
 */
export function QuantityField({ id, label, unit, value, max, presets, disabled, onChange }: {
  id: string;
  label: string;
  /** What is counted, for the buttons' labels ("credits", "calls"). */
  unit: string;
  value: number;
  max: number;
  presets: readonly number[];
  disabled: boolean;
  onChange(next: number | ((n: number) => number)): void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="qty">
        <button className="btn step" type="button" aria-label={`Fewer ${unit}`} onClick={() => onChange((n) => Math.max(1, n - 1))} disabled={disabled}>−</button>
        <input id={id} className="input num" inputMode="numeric" value={value} disabled={disabled}
          onChange={(e) => onChange(Math.max(0, Math.min(max, Number(e.target.value.replace(/\D/g, '')) || 0)))} />
        <button className="btn step" type="button" aria-label={`More ${unit}`} onClick={() => onChange((n) => Math.min(max, n + 1))} disabled={disabled}>+</button>
      </div>
      <div className="chips">
        {presets.map((n) => (
          <button key={n} type="button" className="chip" aria-pressed={value === n} onClick={() => onChange(n)} disabled={disabled}>{n}</button>
        ))}
      </div>
    </div>
  );
}
