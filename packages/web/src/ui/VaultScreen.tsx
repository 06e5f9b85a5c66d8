'use client';
import { useMemo, useRef, useState } from 'react';
import { isActive } from '../vault';
import { ErrorNotice } from './ErrorNotice';
import { useUnlockedVault, useVault } from './vault-context';

export function VaultScreen() {
  const vault = useUnlockedVault();
  const { counts, refresh, lock, version } = useVault();
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
      const { added, updated } = await vault.importBackup(await file.text(), pass);
      setMessage(added + updated === 0 ? 'Everything in that backup is already here.' : `Imported: ${added} new credits, ${updated} updated.`);
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
          <p>Your credits, encrypted on this device.</p>
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
            <p className="muted small" style={{ margin: 0 }}>Download an encrypted copy of your credits to restore them in another browser.</p>
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
