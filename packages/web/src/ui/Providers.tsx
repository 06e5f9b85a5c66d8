'use client';
import '@rainbow-me/rainbowkit/styles.css';
import { RainbowKitProvider, darkTheme, lightTheme } from '@rainbow-me/rainbowkit';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { WagmiProvider } from 'wagmi';
import type { PublicConfig } from '../config';
import { makeWagmiConfig } from '../chain/wagmi';
import { installTestWallet } from '../chain/test-wallet';
import { syncTree } from '../chat/tree';
import { prover } from '../prover/client';
import { Vault, generateSecrets, readBackup } from '../vault';
import { ConfigProvider } from './config-context';
import { VaultProvider } from './vault-context';

if (process.env.NEXT_PUBLIC_ZKC_TEST_WALLET === '1' && typeof window !== 'undefined') {
  installTestWallet();
  // Test builds only: lets browser tests and the benchmark reach the vault and the prover, and
  // make the worker trust the Venice simulator's test attestation root instead of Intel's.
  (window as unknown as { __zkcTest: unknown }).__zkcTest = {
    Vault,
    readBackup,
    prover,
    syncTree,
    generateSecrets,
    trustAttestationRoot: (rootCaDerHex: string) => prover().e2eeTrustTestRoot!(rootCaDerHex),
  };
}

const accent = { accentColor: '#4f46e5', accentColorForeground: '#ffffff', borderRadius: 'medium' as const, fontStack: 'system' as const };

export function Providers({ config, children }: { config: PublicConfig; children: ReactNode }) {
  const [wagmi] = useState(() => makeWagmiConfig(config));
  const [queryClient] = useState(() => new QueryClient({ defaultOptions: { queries: { refetchOnWindowFocus: false } } }));
  return (
    <ConfigProvider config={config}>
      <WagmiProvider config={wagmi}>
        <QueryClientProvider client={queryClient}>
          <RainbowKitProvider
            theme={{ lightMode: lightTheme(accent), darkMode: darkTheme(accent) }}
            initialChain={config.chainId}
            modalSize="compact"
            appInfo={{ appName: 'zkcredits' }}
          >
            <VaultProvider>{children}</VaultProvider>
          </RainbowKitProvider>
        </QueryClientProvider>
      </WagmiProvider>
    </ConfigProvider>
  );
}
