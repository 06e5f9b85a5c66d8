'use client';
import { useEffect, useState } from 'react';
import { useConfig } from './config-context';

export type WalletPresence = 'checking' | 'present' | 'absent';

/**
 * Whether this browser has a wallet the app can connect to: an injected one (`window.ethereum`,
 * or any that answers an EIP-6963 request, also later), or WalletConnect when it is configured.
 */
export function useWalletPresence(): WalletPresence {
  const { walletConnectProjectId } = useConfig();
  const [injected, setInjected] = useState<WalletPresence>('checking');
  useEffect(() => {
    const found = () => setInjected('present');
    window.addEventListener('eip6963:announceProvider', found);
    window.dispatchEvent(new Event('eip6963:requestProvider'));
    if ((window as { ethereum?: unknown }).ethereum !== undefined) found();
    else setInjected((p) => (p === 'present' ? p : 'absent'));
    return () => window.removeEventListener('eip6963:announceProvider', found);
  }, []);
  return walletConnectProjectId ? 'present' : injected;
}

export const FIND_WALLET_URL = 'https://ethereum.org/en/wallets/find-wallet/';
