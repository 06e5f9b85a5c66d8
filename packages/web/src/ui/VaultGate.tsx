'use client';
import { useState, type FormEvent } from 'react';
import { ErrorNotice } from './ErrorNotice';
import { useVault } from './vault-context';

type Mode = 'create' | 'unlock' | 'restore';

/** First screen: create, unlock or restore the encrypted credential vault. */
export function VaultGate() {
  const { state, create, unlock, restore } = useVault();
  const [chosen, setMode] = useState<Mode>('create');
  const [pass, setPass] = useState('');
  const [confirm, setConfirm] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const hasVault = state.status === 'locked';
  const mode: Mode = hasVault ? 'unlock' : chosen;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (mode === 'create' && pass !== confirm) return setError(new Error('The two passphrases differ.'));
    setBusy(true);
    try {
      if (mode === 'create') await create(pass);
      else if (mode === 'unlock') await unlock(pass);
      else if (file) await restore(await file.text(), pass);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="gate">
      <div className="gate-inner">
        <section>
          <h1>Private AI chat, paid per message.</h1>
          <p className="lead">Buy credits once with your wallet. Every message is paid with a zero-knowledge proof made on this device — nobody can link your questions to your wallet.</p>
          <ul className="points">
            <li>
              <div className="ico">◎</div>
              <div><b>Proofs made in your browser</b><span>Your credit secrets never leave this device, not even to our server.</span></div>
            </li>
            <li>
              <div className="ico">⌘</div>
              <div><b>Encrypted vault</b><span>Credits are stored encrypted with your passphrase. Export a backup any time.</span></div>
            </li>
            <li>
              <div className="ico">↺</div>
              <div><b>Nothing paid is ever lost</b><span>Credits are saved before you pay and recovered from the chain after a crash.</span></div>
            </li>
          </ul>
        </section>
        <form className="card stack" onSubmit={submit} aria-label="Vault">
          {hasVault ? (
            <div>
              <h2>Unlock your vault</h2>
              <p className="muted small" style={{ margin: '4px 0 0' }}>Enter the passphrase you chose for this browser.</p>
            </div>
          ) : (
            <>
              <div className="segmented" role="group">
                <button type="button" aria-pressed={mode === 'create'} onClick={() => setMode('create')}>New vault</button>
                <button type="button" aria-pressed={mode === 'restore'} onClick={() => setMode('restore')}>Restore backup</button>
              </div>
              <p className="muted small" style={{ margin: 0 }}>
                {mode === 'create'
                  ? 'Choose a passphrase. It encrypts your credits on this device and cannot be recovered — write it down.'
                  : 'Choose your backup file and enter the passphrase it was made with.'}
              </p>
            </>
          )}
          {mode === 'restore' && !hasVault && (
            <div className="field">
              <label htmlFor="backup-file">Backup file</label>
              <input id="backup-file" className="input" type="file" accept="application/json,.json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            </div>
          )}
          <div className="field">
            <label htmlFor="passphrase">Passphrase</label>
            <input id="passphrase" className="input" type="password" autoComplete={mode === 'create' ? 'new-password' : 'current-password'} value={pass} onChange={(e) => setPass(e.target.value)} autoFocus />
          </div>
          {mode === 'create' && !hasVault && (
            <div className="field">
              <label htmlFor="passphrase-confirm">Repeat passphrase</label>
              <input id="passphrase-confirm" className="input" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
            </div>
          )}
          <ErrorNotice error={error} />
          <button className="btn primary block" type="submit" disabled={busy || !pass || (mode === 'restore' && !hasVault && !file)}>
            {busy && <span className="spinner" />}
            {hasVault || mode === 'unlock' ? 'Unlock' : mode === 'create' ? 'Create vault' : 'Restore credits'}
          </button>
        </form>
      </div>
    </div>
  );
}
