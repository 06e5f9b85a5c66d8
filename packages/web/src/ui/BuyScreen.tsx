'use client';
import { ConnectButton } from '@rainbow-me/rainbowkit';
import { useState } from 'react';
import type { Hash } from 'viem';
import { useAccount, useChainId, usePublicClient, useSwitchChain, useWalletClient } from 'wagmi';
import { fmt, purchaseCredits, type PurchaseStep } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import { prover } from '../prover/client';
import { ErrorNotice } from './ErrorNotice';
import { useConfig } from './config-context';
import { useQuote } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';
import { FIND_WALLET_URL, useWalletPresence } from './wallet-presence';

const PRESETS = [10, 25, 50, 100];

export function BuyScreen({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const { refresh, counts } = useVault();
  const { isConnected } = useAccount();
  const walletChainId = useChainId();
  const { switchChainAsync } = useSwitchChain();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const quote = useQuote();
  const wallet = useWalletPresence();
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
  const wrongChain = isConnected && walletChainId !== config.chainId;
  const short = !!q && isConnected && q.balance < total;

  const steps: { key: PurchaseStep[]; label: string }[] = [
    { key: ['prepare', 'generate'], label: 'Create credit secrets on this device' },
    { key: ['save'], label: 'Save them in your encrypted vault' },
    ...(permit ? [{ key: ['sign'] as PurchaseStep[], label: 'Sign the payment permit in your wallet' }] : [{ key: ['approve'] as PurchaseStep[], label: `Allow the contract to take ${q ? fmt(total, q) : 'the total'}` }]),
    { key: ['send'], label: 'Confirm the purchase in your wallet' },
    { key: ['confirm'], label: `Wait for ${chain.name} to confirm` },
  ];
  const order: PurchaseStep[] = ['prepare', 'generate', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];
  const stepIndex = step ? order.indexOf(step) : -1;

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
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Buy credits</h1>
          <p>One credit pays for one message. Credits never expire.</p>
        </div>
        <div className="pill num" data-testid="credits-available"><span className="dot" />{counts.unspent} available</div>
      </div>
      <div className="grid-2">
        <div className="card stack">
          <div className="field">
            <label htmlFor="qty">How many credits?</label>
            <div className="qty">
              <button className="btn step" type="button" aria-label="Fewer" onClick={() => setQty((n) => Math.max(1, n - 1))} disabled={busy}>−</button>
              <input id="qty" className="input num" inputMode="numeric" value={qty} disabled={busy}
                onChange={(e) => setQty(Math.max(0, Math.min(q?.maxBatch ?? 1024, Number(e.target.value.replace(/\D/g, '')) || 0)))} />
              <button className="btn step" type="button" aria-label="More" onClick={() => setQty((n) => Math.min(q?.maxBatch ?? 1024, n + 1))} disabled={busy}>+</button>
            </div>
            <div className="chips">
              {PRESETS.map((n) => (
                <button key={n} type="button" className="chip" aria-pressed={qty === n} onClick={() => setQty(n)} disabled={busy}>{n}</button>
              ))}
            </div>
          </div>
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
          {!isConnected && wallet === 'absent' ? (
            <div className="notice info stack-sm" data-testid="no-wallet">
              <b>No wallet found in this browser.</b>
              <span>
                Paying for credits needs an Ethereum wallet, such as a browser extension (MetaMask, Rabby, Coinbase Wallet…).
                Install one, then reload this page.
              </span>
              <a href={FIND_WALLET_URL} target="_blank" rel="noopener noreferrer">Find a wallet on ethereum.org ↗</a>
            </div>
          ) : !isConnected ? (
            <ConnectButton.Custom>
              {({ openConnectModal }) => <button className="btn primary block" type="button" onClick={openConnectModal}>Connect wallet</button>}
            </ConnectButton.Custom>
          ) : wrongChain ? (
            <button className="btn primary block" type="button" onClick={() => switchChainAsync({ chainId: config.chainId }).catch(setError)}>Switch to {chain.name}</button>
          ) : bought !== null ? (
            <button className="btn primary block" type="button" onClick={onDone}>Start chatting</button>
          ) : (
            <button className="btn primary block" type="button" onClick={buy} disabled={busy || !q || qty < 1 || short} data-testid="buy">
              {busy && <span className="spinner" />}
              {busy ? 'Buying…' : q ? `Buy ${qty} credit${qty === 1 ? '' : 's'} for ${fmt(total, q)}` : 'Loading price…'}
            </button>
          )}
        </div>
        <div className="card stack">
          <h3>What happens</h3>
          <ol className="steps">
            {steps.map((s, i) => {
              const first = order.indexOf(s.key[0]!);
              const last = order.indexOf(s.key[s.key.length - 1]!);
              const state = step === 'done' || stepIndex > last ? 'done' : stepIndex >= first ? 'active' : '';
              return (
                <li key={s.label} className={state}>
                  <span className="mark">{state === 'done' ? '✓' : state === 'active' ? <span className="spinner" /> : i + 1}</span>
                  {s.label}
                </li>
              );
            })}
          </ol>
          {txHash && <div className="small muted">Transaction <span className="mono">{txHash.slice(0, 10)}…{txHash.slice(-6)}</span></div>}
          <p className="small muted" style={{ margin: 0 }}>
            Your credits are saved before anything is paid. If this tab closes mid-purchase, they are recovered from the chain next time you unlock.
          </p>
        </div>
      </div>
    </div>
  );
}
