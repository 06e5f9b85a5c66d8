'use client';
import { utcDay, type MeteredAccountRecord, type OpenStep } from '@zkcredits/core';
import { useState } from 'react';
import { usePublicClient, useWalletClient } from 'wagmi';
import { openMetered } from '../accounts/open-metered';
import { expiryDate } from '../accounts/usable';
import { fmt } from '../chain/purchase';
import { chainFor } from '../chain/wagmi';
import { LANE_CHOICES, formatPriceUnits, meteredTotal, parsePriceUnits, toBaseUnits, type Lanes } from '../metered/money';
import { useAccountWarning } from './account-warning';
import { BalanceRow, PayPanel, StepsCard, paymentSteps, usePurchase, useShort } from './buy-parts';
import { useConfig } from './config-context';
import { useUnlockedVault } from './vault-context';

const ORDER: readonly OpenStep[] = ['derive', 'save', 'approve', 'sign', 'send', 'confirm', 'done'];
/** The form starts with a deposit of this many calls at their most (C_max) per lane, and a stake of one. */
const DEFAULT_DEPOSIT_CALLS = 20;

/** A money field (the token's units), with what is wrong with it under the field. */
function MoneyField({ id, label, value, symbol, error, hint, disabled, onChange }: {
  id: string;
  label: string;
  value: string;
  symbol: string;
  error?: string;
  hint: string;
  disabled: boolean;
  onChange(text: string): void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="qty">
        <input id={id} className="input num" inputMode="decimal" value={value} disabled={disabled} aria-invalid={!!error} onChange={(e) => onChange(e.target.value)} />
        <span className="muted small" style={{ alignSelf: 'center', paddingLeft: 8 }}>{symbol}</span>
      </div>
      <span className={`small ${error ? 'bad-text' : 'muted'}`}>{error ?? hint}</span>
    </div>
  );
}

/**
 * "Open a metered account": lanes, a deposit and a stake per lane in money; the total
 * `(deposit + stake) · lanes`; what the stake and the lanes mean; then core's one opening flow.
 */
export function OpenMetered({ onDone }: { onDone(): void }) {
  const config = useConfig();
  const chain = chainFor(config.chainId);
  const vault = useUnlockedVault();
  const publicClient = usePublicClient({ chainId: config.chainId });
  const { data: walletClient } = useWalletClient({ chainId: config.chainId });
  const purchase = usePurchase<OpenStep, MeteredAccountRecord>('done');
  const { quote, step, result: opened } = purchase;
  const warning = useAccountWarning(vault, purchase.setError);
  const [lanes, setLanesRaw] = useState<Lanes>(1);
  const [depositText, setDepositRaw] = useState<string | null>(null);
  const [stakeText, setStakeRaw] = useState<string | null>(null);
  const [usePermit, setUsePermit] = useState(true);
  const edit = <T,>(set: (v: T) => void) => (v: T) => {
    purchase.reset();
    set(v);
  };

  const q = quote.data;
  const params = q?.metered;
  const symbol = q?.symbol ?? config.token?.symbol ?? '';
  // Until the user types, the fields show the defaults in money.
  const deposit = depositText ?? (q && params ? formatPriceUnits(params.cMax * DEFAULT_DEPOSIT_CALLS, q.decimals, params) : '');
  const stake = stakeText ?? (q && params ? formatPriceUnits(params.cMax, q.decimals, params) : '');
  const d = q && params ? parsePriceUnits(deposit, q.decimals, params) : undefined;
  const s = q && params ? parsePriceUnits(stake, q.decimals, params) : undefined;
  const dLane = d && 'units' in d ? d.units : undefined;
  const sLane = s && 'units' in s ? s.units : undefined;
  const depositError = d && 'error' in d ? d.error : params && dLane !== undefined && dLane < params.cMax ? `At least ${fmt(toBaseUnits(params.cMax, params), q!)}: a lane must pay one call at its most.` : undefined;
  const stakeError = s && 'error' in s ? s.error : sLane === 0 ? 'More than nothing: a lane without stake could make no call.' : undefined;
  const valid = !!params && dLane !== undefined && sLane !== undefined && !depositError && !stakeError;
  const total = valid ? meteredTotal(dLane!, sLane!, lanes, params!) : 0n;
  const busy = purchase.busy || warning.shown;
  const short = useShort(q, total);
  const lastDay = q?.accounts ? utcDay(Date.now()) + q.accounts.ttlDays : undefined;
  const cMaxMoney = q && params ? fmt(toBaseUnits(params.cMax, params), q) : '—';

  const steps: { key: OpenStep[]; label: string }[] = [
    { key: ['derive'], label: 'Derive the account’s secret on this device' },
    { key: ['save'], label: 'Save it in your encrypted vault' },
    ...paymentSteps(!!q?.permit && usePermit, q ? fmt(total, q) : 'the total', 'Confirm the opening in your wallet', chain.name),
  ];

  const open = () =>
    purchase.pay(async (onStep) => {
      if (!walletClient || !publicClient || !q || !params || !valid) throw new Error('Connect your wallet first.');
      return openMetered({ publicClient, walletClient, pool: config.pool, chainId: config.chainId, dLane: dLane!, sLane: sLane!, lanes, vault, usePermit, quote: q, params, onStep });
    });

  return (
    <div className="grid-2">
      <div className="card stack">
        <div className="field">
          <label id="lanes-label">Lanes (calls at once)</label>
          <div className="segmented" role="group" aria-labelledby="lanes-label" data-testid="metered-lanes">
            {LANE_CHOICES.map((n) => (
              <button key={n} type="button" aria-pressed={lanes === n} disabled={busy} onClick={() => edit(setLanesRaw)(n)}>{n}</button>
            ))}
          </div>
        </div>
        <MoneyField
          id="deposit"
          label="Deposit per lane"
          value={deposit}
          symbol={symbol}
          error={depositError}
          hint={params && dLane !== undefined ? `Covers at least ${Math.floor(dLane / params.cMax)} calls per lane; each call is charged what it really costs.` : ' '}
          disabled={busy}
          onChange={edit(setDepositRaw)}
        />
        <MoneyField id="stake" label="Stake per lane" value={stake} symbol={symbol} error={stakeError} hint="Forfeited by policy penalties (see below)." disabled={busy} onChange={edit(setStakeRaw)} />
        <div>
          <div className="kv"><span className="k">Most a call can cost (C_max)</span><span className="num" data-testid="metered-cmax">{cMaxMoney}</span></div>
          <div className="kv">
            <span className="k">Usable for</span>
            <span className="num">{q?.accounts && lastDay !== undefined ? `${q.accounts.ttlDays} days (until ${expiryDate(lastDay)})` : '—'}</span>
          </div>
          <BalanceRow quote={q} />
          <div className="kv total">
            <span>Total <span className="muted small">(deposit + stake) × {lanes} lane{lanes === 1 ? '' : 's'}</span></span>
            <span className="num" data-testid="metered-total">{q && valid ? fmt(total, q) : '—'}</span>
          </div>
        </div>
        <div className="notice info small" data-testid="metered-note">
          <span>
            <b>Lanes:</b> this account can make {lanes} call{lanes === 1 ? '' : 's'} at once, one per lane; each lane holds its own deposit and stake.
            Each call pre-pays {cMaxMoney} from its lane, and what it did not cost comes back to that lane.
          </span>{' '}
          <span>
            <b>Stake:</b> the stake is not spent on calls. It is forfeited by policy penalties: a message the server refuses under its published
            policy costs nothing but adds a penalty to its lane, and once a lane’s penalties reach its stake the lane is frozen.
          </span>
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
              <div className="notice ok" role="status" data-testid="metered-opened">
                Metered account opened: {opened.lanes.length} lane{opened.lanes.length === 1 ? '' : 's'}
                {opened.expiryDay !== undefined ? `, usable until ${expiryDate(opened.expiryDay)}` : ''}. You can start chatting.
              </div>
            )
          }
          onDone={onDone}
          payButton={
            <button className="btn primary block" type="button" onClick={() => warning.start(open)} disabled={busy || !valid || short} data-testid="open-metered">
              {purchase.busy && <span className="spinner" />}
              {purchase.busy ? 'Opening…' : q && params ? (valid ? `Open a metered account for ${fmt(total, q)}` : 'Check the amounts') : 'Loading terms…'}
            </button>
          }
        />
      </div>
      <StepsCard
        steps={steps}
        order={ORDER}
        step={step}
        txHash={purchase.txHash}
        note="The account’s secret is derived from your vault’s master secret and saved before anything is paid. Each message pre-pays the most a call can cost and gets the rest back in its next proof: the server never sees your balance, your lane or an earlier refund, so calls stay unlinkable."
      />
    </div>
  );
}
