'use client';
import { MAX_TICKETS, utcDay, type OpenStep } from '@zkcredits/core';
import { useState } from 'react';
import type { Hash } from 'viem';
import { useAccount, usePublicClient, useWalletClient } from 'wagmi';
import { openAccount } from '../accounts/open';
import { expiryDate } from '../accounts/usable';
import { fmt } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import type { AccountRecord } from '../vault';
import { QuantityField, StepList, WalletAction } from './buy-parts';
import { ErrorNotice } from './ErrorNotice';
import { useConfig } from './config-context';
import { useQuote } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';

const PRESETS = [50, 100, 500, 1000];
const ORDER: readonly OpenStep[] = ['derive', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];

/**
 * Shown before the first account is opened, and accepted once (remembered in the vault): what a
 * reused ticket would publish, and what the app does so that it never happens.
 */
function AccountWarning({ onAccept, onCancel }: { onAccept(): void; onCancel(): void }) {
  return (
    <div className="notice warn stack-sm account-warning" role="alertdialog" aria-labelledby="account-warning-title" data-testid="account-warning">
      <b id="account-warning-title">Before your first account</b>
      <span>
        An account pays for many messages with one payment. Each message uses one ticket of the account, and shows the server one
        share of the account’s secret. <b>If one ticket were ever used for two different messages, the two shares would publish the
        account’s secret</b>: the account is closed, and with the secret anyone can link all of the account’s past messages to each
        other and to the payment that opened it.
      </span>
      <span>
        This app prevents that: it never sends a ticket again with another message (a retry is always the exact same request), and
        only one tab at a time uses an account. Do not use the same vault backup in two browsers at once.
      </span>
      <div className="row" style={{ gap: 8, flexWrap: 'wrap' }}>
        <button className="btn primary" type="button" onClick={onAccept} autoFocus data-testid="accept-warning">I understand, open the account</button>
        <button className="btn ghost" type="button" onClick={onCancel}>Cancel</button>
      </div>
    </div>
  );
}

/** "Open an account for N calls": the price from the contract, the expiry, then core's one opening flow. */
export function OpenAccount({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const { refresh } = useVault();
  const { isConnected } = useAccount();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const quote = useQuote();
  const [calls, setCallsRaw] = useState(100);
  const [usePermit, setUsePermit] = useState(true);
  const [step, setStep] = useState<OpenStep | null>(null);
  const [txHash, setTxHash] = useState<Hash | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [opened, setOpened] = useState<AccountRecord | null>(null);
  const [warning, setWarning] = useState(false);
  const setCalls = (next: number | ((n: number) => number)) => {
    setOpened(null);
    setStep(null);
    setCallsRaw(next);
  };

  const q = quote.data;
  const terms = q?.accounts;
  const total = terms ? terms.pricePerTicket * BigInt(calls || 0) : 0n;
  const permit = !!q?.permit && usePermit;
  const busy = (step !== null && step !== 'done') || warning;
  const short = !!q && isConnected && q.balance < total;
  const lastDay = terms ? utcDay(Date.now()) + terms.ttlDays : undefined;

  const steps: { key: OpenStep[]; label: string }[] = [
    { key: ['derive'], label: 'Derive the account’s secret on this device' },
    { key: ['save'], label: 'Save it in your encrypted vault' },
    ...(permit ? [{ key: ['sign'] as OpenStep[], label: 'Sign the payment permit in your wallet' }] : [{ key: ['approve'] as OpenStep[], label: `Allow the contract to take ${q ? fmt(total, q) : 'the total'}` }]),
    { key: ['send'], label: 'Confirm the opening in your wallet' },
    { key: ['confirm'], label: `Wait for ${chain.name} to confirm` },
  ];

  async function start() {
    setError(null);
    setOpened(null);
    setTxHash(undefined);
    try {
      // Before the first account: the warning, accepted once.
      if (vault.accounts().length === 0 && !(await vault.accountWarningAccepted())) return setWarning(true);
    } catch (err) {
      return setError(err);
    }
    await open();
  }

  async function accept() {
    setWarning(false);
    try {
      await vault.acceptAccountWarning();
    } catch (err) {
      return setError(err);
    }
    await open();
  }

  async function open() {
    try {
      if (!walletClient || !publicClient || !q) throw new Error('Connect your wallet first.');
      const account = await openAccount({
        publicClient,
        walletClient,
        pool: config.pool,
        chainId: config.chainId,
        calls,
        vault,
        usePermit,
        quote: q,
        onStep(s, info) {
          setStep(s);
          if (info?.txHash) setTxHash(info.txHash);
          refresh();
        },
      });
      setOpened(account);
      setStep('done');
      await quote.refetch();
    } catch (err) {
      setError(err);
      setStep(null);
    } finally {
      refresh();
    }
  }

  return (
    <div className="grid-2">
      <div className="card stack">
        <QuantityField id="calls" label="How many calls?" unit="calls" value={calls} max={MAX_TICKETS} presets={PRESETS} disabled={busy} onChange={setCalls} />
        <div>
          <div className="kv"><span className="k">Price per call</span><span className="num" data-testid="call-price">{q && terms ? fmt(terms.pricePerTicket, q) : '—'}</span></div>
          <div className="kv">
            <span className="k">Usable for</span>
            <span className="num" data-testid="account-expiry">{terms && lastDay !== undefined ? `${terms.ttlDays} days (until ${expiryDate(lastDay)})` : '—'}</span>
          </div>
          <div className="kv"><span className="k">Your balance</span><span className="num" data-testid="balance">{q && isConnected ? fmt(q.balance, q) : '—'}</span></div>
          <div className="kv total"><span>Total</span><span className="num" data-testid="account-total">{q ? fmt(total, q) : '—'}</span></div>
        </div>
        {q?.permit && (
          <label className="row small muted" style={{ cursor: 'pointer' }}>
            <input type="checkbox" checked={usePermit} onChange={(e) => setUsePermit(e.target.checked)} disabled={busy} />
            Pay with one signature and one transaction (permit)
          </label>
        )}
        {quote.error && <ErrorNotice error={quote.error} />}
        {short && <div className="notice warn">Not enough {q!.symbol}: you have {fmt(q!.balance, q!)}, this account costs {fmt(total, q!)}.</div>}
        <ErrorNotice error={error} />
        {warning && <AccountWarning onAccept={accept} onCancel={() => setWarning(false)} />}
        {opened && (
          <div className="notice ok" role="status" data-testid="account-opened">
            Account opened: {opened.tickets} calls{opened.expiryDay !== undefined ? `, usable until ${expiryDate(opened.expiryDay)}` : ''}. You can start chatting.
          </div>
        )}
        <WalletAction onError={setError}>
          {opened ? (
            <button className="btn primary block" type="button" onClick={onDone}>Start chatting</button>
          ) : (
            <button className="btn primary block" type="button" onClick={start} disabled={busy || !terms || calls < 1 || short} data-testid="open-account">
              {step !== null && step !== 'done' && <span className="spinner" />}
              {step !== null && step !== 'done' ? 'Opening…' : q && terms ? `Open an account for ${calls} call${calls === 1 ? '' : 's'} for ${fmt(total, q)}` : 'Loading price…'}
            </button>
          )}
        </WalletAction>
      </div>
      <div className="card stack">
        <h3>What happens</h3>
        <StepList steps={steps} order={ORDER} step={step} />
        {txHash && <div className="small muted">Transaction <span className="mono">{txHash.slice(0, 10)}…{txHash.slice(-6)}</span></div>}
        <p className="small muted" style={{ margin: 0 }}>
          The account’s secret is derived from your vault’s master secret and saved before anything is paid: one backup covers every
          account. Each message uses one call; the server sees a fresh ticket each time, never which account it comes from.
        </p>
      </div>
    </div>
  );
}
