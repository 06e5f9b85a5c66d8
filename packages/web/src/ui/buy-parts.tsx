'use client';
import { ConnectButton } from '@rainbow-me/rainbowkit';
import { useCallback, useState, type ReactNode } from 'react';
import type { Hash } from 'viem';
import { useAccount, useChainId, useSwitchChain } from 'wagmi';
import { fmt, type Quote } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import { ErrorNotice } from './ErrorNotice';
import { useConfig } from './config-context';
import { useQuote } from './hooks';
import { useVault } from './vault-context';
import { FIND_WALLET_URL, useWalletPresence } from './wallet-presence';

/** A purchase's progress callback, as core's and the app's payment flows call it. */
export type OnStep<S extends string> = (step: S, info?: { txHash?: Hash }) => void;

/**
 * The state of one purchase (credits, an account, a metered account) and the one place its
 * outcome is handled: `pay(fn)` clears the last outcome, runs `fn` with a step callback that
 * re-renders the vault, and ends in exactly one of `result` (step `done`, quote refreshed) or
 * `error` (step cleared). `reset()` forgets a finished purchase when the order changes.
 */
export function usePurchase<S extends string, R>(done: S) {
  const { refresh } = useVault();
  const quote = useQuote();
  const [step, setStep] = useState<S | null>(null);
  const [txHash, setTxHash] = useState<Hash | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<R | null>(null);

  const onStep = useCallback<OnStep<S>>(
    (s, info) => {
      setStep(s);
      if (info?.txHash) setTxHash(info.txHash);
      refresh();
    },
    [refresh],
  );

  /** Runs one payment; its errors end up in `error`, never thrown. */
  const pay = async (fn: (onStep: OnStep<S>) => Promise<R>): Promise<void> => {
    setError(null);
    setResult(null);
    setTxHash(undefined);
    try {
      const value = await fn(onStep);
      setResult(() => value);
      setStep(done);
      await quote.refetch();
    } catch (err) {
      setError(err);
      setStep(null);
    } finally {
      refresh();
    }
  };

  const reset = useCallback(() => {
    setResult(null);
    setStep(null);
  }, []);

  return { quote, step, txHash, error, setError, result, busy: step !== null && step !== done, pay, reset };
}

/**
 * The pay half of a purchase card: the permit choice, the quote's and the purchase's errors, a
 * warning when the wallet holds too little, the outcome, and the wallet's action (connect, switch
 * chain, then the pay button, or "Start chatting" once paid).
 */
export function PayPanel({ quote, quoteError, total, what, usePermit, setUsePermit, busy, error, setError, success, onDone, payButton }: {
  quote: Quote | undefined;
  quoteError: unknown;
  /** What the purchase costs (token base units). */
  total: bigint;
  /** The purchase in words, for "this … costs" ("purchase", "account"). */
  what: string;
  usePermit: boolean;
  setUsePermit(on: boolean): void;
  busy: boolean;
  error: unknown;
  setError(error: unknown): void;
  /** The outcome once paid (a status notice), else null. */
  success: ReactNode;
  onDone(): void;
  payButton: ReactNode;
}) {
  const short = useShort(quote, total);
  return (
    <>
      {quote?.permit && (
        <label className="row small muted" style={{ cursor: 'pointer' }}>
          <input type="checkbox" checked={usePermit} onChange={(e) => setUsePermit(e.target.checked)} disabled={busy} />
          Pay with one signature and one transaction (permit)
        </label>
      )}
      {quoteError ? <ErrorNotice error={quoteError} /> : null}
      {short && quote && <div className="notice warn">Not enough {quote.symbol}: you have {fmt(quote.balance, quote)}, this {what} costs {fmt(total, quote)}.</div>}
      <ErrorNotice error={error} />
      {success}
      <WalletAction onError={setError}>
        {success ? <button className="btn primary block" type="button" onClick={onDone}>Start chatting</button> : payButton}
      </WalletAction>
    </>
  );
}

/** "Your balance": the wallet's token balance once connected. */
export function BalanceRow({ quote }: { quote: Quote | undefined }) {
  const { isConnected } = useAccount();
  return <div className="kv"><span className="k">Your balance</span><span className="num" data-testid="balance">{quote && isConnected ? fmt(quote.balance, quote) : '—'}</span></div>;
}

/** Whether the connected wallet holds less than `total` (the pay button is disabled then). */
export function useShort(quote: Quote | undefined, total: bigint): boolean {
  const { isConnected } = useAccount();
  return !!quote && isConnected && quote.balance < total;
}

/** The wallet's part of every payment, the same for credits and accounts. */
type PayStep = 'approve' | 'sign' | 'send' | 'confirm';

/** The wallet steps of a payment: a permit signature or an approval of `total`, the transaction, its confirmation. */
export function paymentSteps(permit: boolean, total: string, send: string, chainName: string): { key: PayStep[]; label: string }[] {
  return [
    permit ? { key: ['sign'], label: 'Sign the payment permit in your wallet' } : { key: ['approve'], label: `Allow the contract to take ${total}` },
    { key: ['send'], label: send },
    { key: ['confirm'], label: `Wait for ${chainName} to confirm` },
  ];
}

/** The "What happens" card: the steps, the transaction once sent, and a note. */
export function StepsCard<S extends string>({ steps, order, step, txHash, note }: {
  steps: { key: S[]; label: string }[];
  order: readonly S[];
  step: S | null;
  txHash: Hash | undefined;
  note: ReactNode;
}) {
  return (
    <div className="card stack">
      <h3>What happens</h3>
      <StepList steps={steps} order={order} step={step} />
      {txHash && <div className="small muted">Transaction <span className="mono">{txHash.slice(0, 10)}…{txHash.slice(-6)}</span></div>}
      <p className="small muted" style={{ margin: 0 }}>{note}</p>
    </div>
  );
}

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
