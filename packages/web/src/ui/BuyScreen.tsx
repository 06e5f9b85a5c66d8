'use client';
import { useState } from 'react';
import { usePublicClient, useWalletClient } from 'wagmi';
import { fmt, purchaseCredits, type PurchaseStep } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import { prover } from '../prover/client';
import { BalanceRow, PayPanel, QuantityField, StepsCard, paymentSteps, usePurchase, useShort } from './buy-parts';
import { OpenAccount } from './OpenAccount';
import { OpenMetered } from './OpenMetered';
import { useConfig } from './config-context';
import { useQuote } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';

const PRESETS = [10, 25, 50, 100];

type Kind = 'credits' | 'account' | 'metered';

const INTRO: Record<Kind, string> = {
  credits: 'One credit pays for one message. Credits never expire.',
  account: 'One payment opens an account that pays for many messages, until it expires.',
  metered: 'One deposit pays for many messages, each charged what it really costs (tokens used), until it expires.',
};

/** The buy screen: single credits (one per message), a v2 account for many calls, or a metered account. */
export function BuyScreen({ onDone }: { onDone(): void }) {
  const { counts, calls, hasAccounts } = useVault();
  const quote = useQuote();
  const [kind, setKind] = useState<Kind>('credits');
  const accounts = !!quote.data?.accounts;
  const metered = !!quote.data?.metered;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Buy credits</h1>
          <p>{INTRO[kind]}</p>
        </div>
        <div className="pill num" data-testid="credits-available">
          <span className="dot" />
          {counts.unspent} available{hasAccounts ? ` · ${calls} call${calls === 1 ? '' : 's'}` : ''}
        </div>
      </div>
      {accounts && (
        <div className="segmented buy-kind" role="group" aria-label="What to buy">
          <button type="button" aria-pressed={kind === 'credits'} onClick={() => setKind('credits')}>Single credits</button>
          <button type="button" aria-pressed={kind === 'account'} onClick={() => setKind('account')}>Account for many calls</button>
          {metered && (
            <button type="button" aria-pressed={kind === 'metered'} onClick={() => setKind('metered')}>Metered account</button>
          )}
        </div>
      )}
      {kind === 'account' && accounts ? (
        <OpenAccount onDone={onDone} />
      ) : kind === 'metered' && metered ? (
        <OpenMetered onDone={onDone} />
      ) : (
        <BuyCredits onDone={onDone} />
      )}
    </div>
  );
}

function BuyCredits({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const purchase = usePurchase<PurchaseStep, number>('done');
  const { quote, step, busy, result: bought } = purchase;
  const [qty, setQtyRaw] = useState(10);
  const setQty = (next: number | ((n: number) => number)) => {
    purchase.reset();
    setQtyRaw(next);
  };
  const [usePermit, setUsePermit] = useState(true);

  const q = quote.data;
  const total = q ? q.price * BigInt(qty || 0) : 0n;
  const short = useShort(q, total);
  const steps: { key: PurchaseStep[]; label: string }[] = [
    { key: ['prepare', 'generate'], label: 'Create credit secrets on this device' },
    { key: ['save'], label: 'Save them in your encrypted vault' },
    ...paymentSteps(!!q?.permit && usePermit, q ? fmt(total, q) : 'the total', 'Confirm the purchase in your wallet', chain.name),
  ];
  const order: PurchaseStep[] = ['prepare', 'generate', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];

  const buy = () =>
    purchase.pay(async (onStep) => {
      if (!walletClient || !publicClient) throw new Error('Connect your wallet first.');
      const confirmed = await purchaseCredits({
        publicClient,
        walletClient,
        pool: config.pool,
        chainId: config.chainId,
        quantity: qty,
        vault,
        prover: prover(),
        usePermit,
        expectedPrice: q?.price,
        token: config.token,
        onStep,
      });
      return confirmed.length;
    });

  return (
    <div className="grid-2">
      <div className="card stack">
        <QuantityField id="qty" label="How many credits?" unit="credits" value={qty} max={q?.maxBatch ?? 1024} presets={PRESETS} disabled={busy} onChange={setQty} />
        <div>
          <div className="kv"><span className="k">Price per credit</span><span className="num" data-testid="price">{q ? fmt(q.price, q) : '—'}</span></div>
          <BalanceRow quote={q} />
          <div className="kv total"><span>Total</span><span className="num" data-testid="total">{q ? fmt(total, q) : '—'}</span></div>
        </div>
        <PayPanel
          quote={q}
          quoteError={quote.error}
          total={total}
          what="purchase"
          usePermit={usePermit}
          setUsePermit={setUsePermit}
          busy={busy}
          error={purchase.error}
          setError={purchase.setError}
          success={bought !== null && <div className="notice ok" role="status">{bought} credits added to your vault. You can start chatting.</div>}
          onDone={onDone}
          payButton={
            <button className="btn primary block" type="button" onClick={buy} disabled={busy || !q || qty < 1 || short} data-testid="buy">
              {busy && <span className="spinner" />}
              {busy ? 'Buying…' : q ? `Buy ${qty} credit${qty === 1 ? '' : 's'} for ${fmt(total, q)}` : 'Loading price…'}
            </button>
          }
        />
      </div>
      <StepsCard
        steps={steps}
        order={order}
        step={step}
        txHash={purchase.txHash}
        note="Your credits are saved before anything is paid. If this tab closes mid-purchase, they are recovered from the chain next time you unlock."
      />
    </div>
  );
}
