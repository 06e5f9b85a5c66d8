'use client';
import { useState } from 'react';
import type { Vault } from '../vault';

/**
 * Shown before the first account is opened (flat or metered), and accepted once (remembered in the
 * vault): what a reused ticket would publish, and what the app does so that it never happens.
 */
export function AccountWarning({ onAccept, onCancel }: { onAccept(): void; onCancel(): void }) {
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

/**
 * The warning before the vault's first account, around an opening: `start(open)` runs `open` at
 * once when the vault has an account or the warning was accepted before, else shows the warning
 * (`shown`); `accept()` remembers it in the vault and runs `open`. Storage errors go to `onError`.
 */
export function useAccountWarning(vault: Vault, onError: (error: unknown) => void) {
  const [pending, setPending] = useState<(() => Promise<void>) | null>(null);
  const start = async (open: () => Promise<void>) => {
    onError(null);
    try {
      if (vault.accounts().length === 0 && vault.meteredAccounts().length === 0 && !(await vault.accountWarningAccepted())) return setPending(() => open);
    } catch (err) {
      return onError(err);
    }
    await open();
  };
  const accept = async () => {
    const open = pending;
    setPending(null);
    try {
      await vault.acceptAccountWarning();
    } catch (err) {
      return onError(err);
    }
    await open?.();
  };
  const element = pending ? <AccountWarning onAccept={accept} onCancel={() => setPending(null)} /> : null;
  return { shown: pending !== null, start, element };
}
