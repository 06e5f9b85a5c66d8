'use client';
import { MAX_TICKETS, utcDay, type OpenStep } from '@zkcredits/core';
import { useState } from 'react';
import { usePublicClient, useWalletClient } from 'wagmi';
import { openAccount } from '../accounts/open';
import { expiryDate } from '../accounts/usable';
import { fmt } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import type { AccountRecord } from '../vault';
import { useAccountWarning } from './account-warning';
import { BalanceRow, PayPanel, QuantityField, StepsCard, paymentSteps, usePurchase, useShort } from './buy-parts';
import { useConfig } from './config-context';
import { useUnlockedVault } from './vault-context';

const PRESETS = [50, 100, 500, 1000];
const ORDER: readonly OpenStep[] = ['derive', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];

/** "Open an account for N calls": the price from the contract, the expiry, then core's one opening flow. */
export function OpenAccount({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const purchase = usePurchase<OpenStep, AccountRecord>('done');
  const { quote, step, result: opened } = purchase;
  const warning = useAccountWarning(vault, purchase.setError);
  const [calls, setCallsRaw] = useState(100);
  const [usePermit, setUsePermit] = useState(true);
  const setCalls = (next: number | ((n: number) => number)) => {
    purchase.reset();
    setCallsRaw(next);
  };

  const q = quote.data;
  const terms = q?.accounts;
  const total = terms ? terms.pricePerTicket * BigInt(calls || 0) : 0n;
  const busy = purchase.busy || warning.shown;
  const short = useShort(q, total);
  const lastDay = terms ? utcDay(Date.now()) + terms.ttlDays : undefined;

  const steps: { key: OpenStep[]; label: string }[] = [
    { key: ['derive'], label: 'Derive the account’s secret on this device' },
    { key: ['save'], label: 'Save it in your encrypted vault' },
    ...paymentSteps(!!q?.permit && usePermit, q ? fmt(total, q) : 'the total', 'Confirm the opening in your wallet', chain.name),
  ];

  const open = () =>
    purchase.pay(async (onStep) => {
      if (!walletClient || !publicClient || !q) throw new Error('Connect your wallet first.');
      return openAccount({ publicClient, walletClient, pool: config.pool, chainId: config.chainId, calls, vault, usePermit, quote: q, onStep });
    });

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
          <BalanceRow quote={q} />
          <div className="kv total"><span>Total</span><span className="num" data-testid="account-total">{q ? fmt(total, q) : '—'}</span></div>
        </div>
        {warning.element}
        <PayPanel
          quote={q}
          quoteError={quote.error}
          total={total}
          what="account"
          usePermit={usePermit}
          setUsePermit={setUsePermit}
          busy={busy}
          error={purchase.error}
          setError={purchase.setError}
          success={
            opened && (
              <div className="notice ok" role="status" data-testid="account-opened">
                Account opened: {opened.tickets} calls{opened.expiryDay !== undefined ? `, usable until ${expiryDate(opened.expiryDay)}` : ''}. You can start chatting.
              </div>
            )
          }
          onDone={onDone}
          payButton={
            <button className="btn primary block" type="button" onClick={() => warning.start(open)} disabled={busy || !terms || calls < 1 || short} data-testid="open-account">
              {purchase.busy && <span className="spinner" />}
              {purchase.busy ? 'Opening…' : q && terms ? `Open an account for ${calls} call${calls === 1 ? '' : 's'} for ${fmt(total, q)}` : 'Loading price…'}
            </button>
          }
        />
      </div>
      <StepsCard
        steps={steps}
        order={ORDER}
        step={step}
        txHash={purchase.txHash}
        note="The account’s secret is derived from your vault’s master secret and saved before anything is paid: one backup covers every account. Each message uses one call; the server sees a fresh ticket each time, never which account it comes from."
      />
    </div>
  );
}
