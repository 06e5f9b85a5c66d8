'use client';
import { useMemo, useRef, useState } from 'react';
import { meteredBalance, type MeteredAccountRecord } from '@zkcredits/core';
import { accountState, callsLeft, expiryDate, type AccountState } from '../accounts/usable';
import { meteredState, type MeteredState } from '../metered/usable';
import { isActive } from '../vault';
import { ErrorNotice } from './ErrorNotice';
import { useConfig } from './config-context';
import { useMoneyFormat } from './hooks';
import { useUnlockedVault, useVault } from './vault-context';

const STATE_BADGE: Record<AccountState | MeteredState, string> = {
  frozen: 'bad',
  active: 'ok',
  'used up': 'muted',
  expired: 'muted',
  'checking used calls': 'warn',
  'waiting for confirmation': 'warn',
  'not paid': 'muted',
  revoked: 'bad',
};

/** One metered account: its lanes, its balance in money and the calls it still covers at C_max. */
function MeteredRow({ a }: { a: MeteredAccountRecord }) {
  const money = useMoneyFormat(a.token);
  const balance = meteredBalance(a);
  const state = meteredState(a, balance);
  const lanes = a.lanes.length;
  return (
    <tr data-testid="metered-row">
      <td>{new Date(a.createdAt).toLocaleString()}</td>
      <td data-testid="account-kind">metered · {lanes} lane{lanes === 1 ? '' : 's'}</td>
      <td className="num">
        <span data-testid="metered-balance">{money ? money(balance.money) : `${balance.priceUnits} units`}</span>
        <span className="muted small">
          {' '}· <span data-testid="metered-calls">{balance.callsAtCmax}</span> call{balance.callsAtCmax === 1 ? '' : 's'} at most cost
          {balance.pending > 0 ? ` · ${balance.pending} waiting for its state` : ''}
        </span>
      </td>
      <td>{a.expiryDay !== undefined ? expiryDate(a.expiryDay) : '—'}</td>
      <td><span className={`badge ${STATE_BADGE[state]}`} data-testid="account-state">{state}</span></td>
    </tr>
  );
}

/**
 * The vault's v2 accounts of this deployment: for flat accounts the calls left (N − next ticket),
 * for metered ones the lanes and the balance (money, and calls at C_max); expiry, state.
 */
function Accounts() {
  const config = useConfig();
  const vault = useUnlockedVault();
  const { version } = useVault();
  const ours = (a: { chainId: number; contract: string }) => a.chainId === config.chainId && a.contract.toLowerCase() === config.pool.toLowerCase();
  const accounts = useMemo(
    () => vault.accounts().filter(ours).reverse(),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [vault, version, config.chainId, config.pool],
  );
  const metered = useMemo(
    () => vault.meteredAccounts().filter(ours).reverse(),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [vault, version, config.chainId, config.pool],
  );
  if (accounts.length === 0 && metered.length === 0) return null;
  return (
    <div className="card stack" style={{ marginBottom: 20 }}>
      <h3>Accounts</h3>
      <div className="table-scroll">
        <table className="list" data-testid="accounts">
          <thead><tr><th>Opened</th><th>Kind</th><th>Left</th><th>Usable until</th><th>Status</th></tr></thead>
          <tbody>
            {metered.map((a) => <MeteredRow key={a.id} a={a} />)}
            {accounts.map((a) => {
              const state = accountState(a);
              return (
                <tr key={a.id} data-testid="account-row">
                  <td>{new Date(a.createdAt).toLocaleString()}</td>
                  <td data-testid="account-kind">calls</td>
                  <td className="num"><span data-testid="calls-left">{callsLeft(a)}</span> of {a.tickets}</td>
                  <td>{a.expiryDay !== undefined ? expiryDate(a.expiryDay) : '—'}</td>
                  <td><span className={`badge ${STATE_BADGE[state]}`} data-testid="account-state">{state}</span></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {metered.length > 0 && (
        <p className="small muted" style={{ margin: 0 }}>
          A metered account’s balance is its deposit less what its calls really cost; a call in progress counts at its most until its
          state comes back. Calls at most cost: how many calls it can still pay in the worst case.
        </p>
      )}
      {[...accounts, ...metered].some((a) => a.status === 'revoked') && (
        <p className="small muted" style={{ margin: 0 }}>
          A revoked account had one of its tickets used for two different messages. That publishes its secret: its past messages may
          now be linked to each other and to the payment that opened it.
        </p>
      )}
    </div>
  );
}

export function VaultScreen() {
  const vault = useUnlockedVault();
  const { counts, refresh, lock, version, requestRecovery } = useVault();
  const [pass, setPass] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const batches = useMemo(() => {
    const map = new Map<string, { createdAt: number; n: number; statuses: Record<string, number>; txHash?: string }>();
    for (const r of vault.list()) {
      const b = map.get(r.batch) ?? { createdAt: r.createdAt, n: 0, statuses: {}, txHash: r.txHash };
      b.n++;
      const status = isActive(r) ? r.status : 'archived';
      b.statuses[status] = (b.statuses[status] ?? 0) + 1;
      b.txHash ??= r.txHash;
      map.set(r.batch, b);
    }
    return [...map.entries()].sort((a, b) => b[1].createdAt - a[1].createdAt);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [vault, version]);

  async function exportBackup() {
    setError(null);
    const text = await vault.exportBackup();
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `zkcredits-backup-${new Date().toISOString().slice(0, 10)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    setMessage('Backup downloaded. It is encrypted with your passphrase: keep both safe.');
  }

  async function importBackup() {
    if (!file) return;
    setError(null);
    setMessage(null);
    setBusy(true);
    try {
      const result = await vault.importBackup(await file.text(), pass);
      const { added, updated, accounts, metered } = result;
      const changed = added + updated + accounts.added + accounts.updated + (metered ? metered.added + metered.updated : 0);
      setMessage(
        changed === 0
          ? 'Everything in that backup is already here.'
          : `Imported: ${added} new credits, ${updated} updated${accounts.added + accounts.updated > 0 ? `; ${accounts.added} new accounts, ${accounts.updated} updated` : ''}${
              metered && metered.added + metered.updated > 0 ? `; ${metered.added} new metered accounts, ${metered.updated} updated` : ''
            }.`,
      );
      // The backup may be older than its accounts' last calls: recovery runs before any is used.
      requestRecovery();
      setPass('');
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Vault</h1>
          <p>Your credits and accounts, encrypted on this device.</p>
        </div>
        <button className="btn" type="button" onClick={lock}>Lock vault</button>
      </div>
      <div className="stats" style={{ marginBottom: 20 }}>
        <div className="stat"><div className="v num" data-testid="count-unspent">{counts.unspent}</div><div className="l">Available</div></div>
        <div className="stat"><div className="v num" data-testid="count-pending">{counts.pending}</div><div className="l">Waiting for confirmation</div></div>
        <div className="stat"><div className="v num" data-testid="count-spent">{counts.spent}</div><div className="l">Used</div></div>
        {counts.archived > 0 && (
          <div className="stat" title="Credits from a chain that was reset: kept, never counted or used">
            <div className="v num" data-testid="count-archived">{counts.archived}</div><div className="l">Archived</div>
          </div>
        )}
      </div>
      <Accounts />
      <div className="grid-2">
        <div className="card stack">
          <h3>Purchases</h3>
          {batches.length === 0 ? (
            <p className="muted small" style={{ margin: 0 }}>No credits yet.</p>
          ) : (
            <table className="list">
              <thead><tr><th>Date</th><th>Credits</th><th>Status</th></tr></thead>
              <tbody>
                {batches.map(([id, b]) => (
                  <tr key={id}>
                    <td>{new Date(b.createdAt).toLocaleString()}</td>
                    <td className="num">{b.n}</td>
                    <td>
                      {b.statuses.pending ? <span className="badge warn">{b.statuses.pending} pending</span> : null}{' '}
                      {b.statuses.unspent ? <span className="badge ok">{b.statuses.unspent} available</span> : null}{' '}
                      {b.statuses.spent ? <span className="badge muted">{b.statuses.spent} used</span> : null}{' '}
                      {b.statuses.abandoned ? <span className="badge muted">not paid</span> : null}{' '}
                      {b.statuses.archived ? <span className="badge muted">{b.statuses.archived} archived</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className="stack">
          <div className="card stack">
            <h3>Back up</h3>
            <p className="muted small" style={{ margin: 0 }}>
              Download an encrypted copy of your credits and accounts to restore them in another browser. Restored accounts continue after
              their last used call; use a vault in one browser at a time.
            </p>
            <button className="btn" type="button" onClick={exportBackup} data-testid="export">Export backup file</button>
          </div>
          <div className="card stack">
            <h3>Import a backup</h3>
            <input ref={fileInput} className="input" type="file" accept="application/json,.json" aria-label="Backup file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            <input className="input" type="password" placeholder="Passphrase of that backup" aria-label="Backup passphrase" value={pass} onChange={(e) => setPass(e.target.value)} />
            <button className="btn" type="button" onClick={importBackup} disabled={!file || !pass || busy} data-testid="import">
              {busy && <span className="spinner" />} Import
            </button>
          </div>
          <ErrorNotice error={error} />
          {message && <div className="notice ok" role="status">{message}</div>}
        </div>
      </div>
    </div>
  );
}
