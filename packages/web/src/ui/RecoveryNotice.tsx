'use client';
import { useState } from 'react';
import { ErrorNotice } from './ErrorNotice';
import { useVault } from './vault-context';

/**
 * Account recovery after a restored or imported backup (src/accounts/recover.ts): while it runs,
 * and when it fails, say that no account call is used until it has succeeded.
 */
export function RecoveryNotice() {
  const { recovery, requestRecovery } = useVault();
  const [dismissed, setDismissed] = useState<unknown>(null);
  if (recovery.status === 'running') {
    return (
      <div className="banner info" role="status" data-testid="recovery-running">
        <div className="banner-text">
          <span className="spinner" /> Checking your accounts for calls they already made, so each continues after its last used call.
          Account calls wait until this is done.
        </div>
      </div>
    );
  }
  if (recovery.status === 'failed') {
    return (
      <div className="banner bad" role="region" aria-label="Account recovery" data-testid="recovery-failed">
        <div className="banner-text">
          <b>Your accounts could not be checked for calls they already made,</b> so they are not used yet (a used call sent again
          would publish the account’s secret). Single credits still work.
        </div>
        <button className="btn small" type="button" onClick={requestRecovery}>Try again</button>
        <ErrorNotice error={recovery.error} />
      </div>
    );
  }
  if (recovery.status === 'done' && recovery.accounts > 0 && dismissed !== recovery) {
    return (
      <div className="banner ok" role="status" data-testid="recovery-done">
        <div className="banner-text">
          Recovered {recovery.accounts} account{recovery.accounts === 1 ? '' : 's'}: each continues after its last used call.
        </div>
        <button className="btn ghost small" type="button" onClick={() => setDismissed(recovery)} aria-label="Dismiss">✕</button>
      </div>
    );
  }
  return null;
}
