'use client';
import { useState } from 'react';
import type { Hash } from 'viem';
import { useAccount, usePublicClient, useWalletClient } from 'wagmi';
import { fmt, purchaseCredits, type PurchaseStep } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import { prover } from '../prover/client';
import { QuantityField, StepList, WalletAction } from './buy-parts';
import { ErrorNotice } from './ErrorNotice';
import { OpenAccount } from './OpenAccount';
import { useConfig } from './config-context';
import { useQuote } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';

const PRESETS = [10, 25, 50, 100];

type Kind = 'credits' | 'account';

/** The buy screen: single credits (one per message), or a v2 account for many calls. */
export function BuyScreen({ onDone }: { onDone(): void }) {
  const { counts, calls, hasAccounts } = useVault();
  const quote = useQuote();
  const [kind, setKind] = useState<Kind>('credits');
  const accounts = !!quote.data?.accounts;
  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Buy credits</h1>
          <p>
            {kind === 'credits'
              ? 'One credit pays for one message. Credits never expire.'
              : 'One payment opens an account that pays for many messages, until it expires.'}
          </p>
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
        </div>
      )}
      {kind === 'account' && accounts ? <OpenAccount onDone={onDone} /> : <BuyCredits onDone={onDone} />}
    </div>
  );
}

function BuyCredits({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const { refresh } = useVault();
  const { isConnected } = useAccount();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const quote = useQuote();
  const [qty, setQtyRaw] = useState(10);
  const setQty = (next: number | ((n: number) => number)) => {
    setBought(null);
    setStep(null);
    setQtyRaw(next);
  };
  const [usePermit, setUsePermit] = useState(true);
  const [step, setStep] = useState<PurchaseStep | null>(null);
  const [txHash, setTxHash] = useState<Hash | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [bought, setBought] = useState<number | null>(null);

  const q = quote.data;
  const total = q ? q.price * BigInt(qty || 0) : 0n;
  const permit = !!q?.permit && usePermit;
  const busy = step !== null && step !== 'done';
  const short = !!q && isConnected && q.balance < total;

  const steps: { key: PurchaseStep[]; label: string }[] = [
    { key: ['prepare', 'generate'], label: 'Create credit secrets on this device' },
    { key: ['save'], label: 'Save them in your encrypted vault' },
    ...(permit ? [{ key: ['sign'] as PurchaseStep[], label: 'Sign the payment permit in your wallet' }] : [{ key: ['approve'] as PurchaseStep[], label: `Allow the contract to take ${q ? fmt(total, q) : 'the total'}` }]),
    { key: ['send'], label: 'Confirm the purchase in your wallet' },
    { key: ['confirm'], label: `Wait for ${chain.name} to confirm` },
  ];
  const order: PurchaseStep[] = ['prepare', 'generate', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];

  async function buy() {
    setError(null);
    setBought(null);
    setTxHash(undefined);
    try {
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
        onStep(s, info) {
          setStep(s);
          if (info?.txHash) setTxHash(info.txHash);
          refresh();
        },
      });
      setBought(confirmed.length);
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
    <>
      <div className="grid-2">
        <div className="card stack">
          <QuantityField id="qty" label="How many credits?" unit="credits" value={qty} max={q?.maxBatch ?? 1024} presets={PRESETS} disabled={busy} onChange={setQty} />
          <div>
            <div className="kv"><span className="k">Price per credit</span><span className="num" data-testid="price">{q ? fmt(q.price, q) : '—'}</span></div>
            <div className="kv"><span className="k">Your balance</span><span className="num" data-testid="balance">{q && isConnected ? fmt(q.balance, q) : '—'}</span></div>
            <div className="kv total"><span>Total</span><span className="num" data-testid="total">{q ? fmt(total, q) : '—'}</span></div>
          </div>
          {q?.permit && (
            <label className="row small muted" style={{ cursor: 'pointer' }}>
              <input type="checkbox" checked={usePermit} onChange={(e) => setUsePermit(e.target.checked)} disabled={busy} />
              Pay with one signature and one transaction (permit)
            </label>
          )}
          {quote.error && <ErrorNotice error={quote.error} />}
          {short && <div className="notice warn">Not enough {q!.symbol}: you have {fmt(q!.balance, q!)}, this purchase costs {fmt(total, q!)}.</div>}
          <ErrorNotice error={error} />
          {bought !== null && <div className="notice ok" role="status">{bought} credits added to your vault. You can start chatting.</div>}
          <WalletAction onError={setError}>
            {bought !== null ? (
              <button className="btn primary block" type="button" onClick={onDone}>Start chatting</button>
            ) : (
              <button className="btn primary block" type="button" onClick={buy} disabled={busy || !q || qty < 1 || short} data-testid="buy">
                {busy && <span className="spinner" />}
                {busy ? 'Buying…' : q ? `Buy ${qty} credit${qty === 1 ? '' : 's'} for ${fmt(total, q)}` : 'Loading price…'}
              </button>
            )}
          </WalletAction>
        </div>
        <div className="card stack">
          <h3>What happens</h3>
          <StepList steps={steps} order={order} step={step} />
          {txHash && <div className="small muted">Transaction <span className="mono">{txHash.slice(0, 10)}…{txHash.slice(-6)}</span></div>}
          <p className="small muted" style={{ margin: 0 }}>
            Your credits are saved before anything is paid. If this tab closes mid-purchase, they are recovered from the chain next time you unlock.
          </p>
        </div>
      </div>
    </>
  );
}
