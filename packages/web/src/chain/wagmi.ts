import { connectorsForWallets } from '@rainbow-me/rainbowkit';
import {
  braveWallet,
  injectedWallet,
  metaMaskWallet,
  rabbyWallet,
  walletConnectWallet,
} from '@rainbow-me/rainbowkit/wallets';
import { createConfig, http, type Config } from 'wagmi';
import { anvil, base, baseSepolia, type Chain } from 'wagmi/chains';
import type { PublicConfig } from '../config';

export function chainFor(id: PublicConfig['chainId']): Chain {
  return id === 8453 ? base : id === 84532 ? baseSepolia : anvil;
}

/**
 * wagmi config for the deployment's chain only (Base, Base Sepolia or local Anvil).
 * Browser-extension wallets always; WalletConnect-based ones only with a project id,
 * so a default install makes no request to third-party relays.
 */
export function makeWagmiConfig(config: PublicConfig): Config {
  const chain = chainFor(config.chainId);
  const wallets = config.walletConnectProjectId
    ? [injectedWallet, metaMaskWallet, rabbyWallet, braveWallet, walletConnectWallet]
    : [injectedWallet, rabbyWallet, braveWallet];
  const connectors = connectorsForWallets([{ groupName: 'Wallets', wallets }], {
    appName: 'zkcredits',
    projectId: config.walletConnectProjectId ?? 'unused',
  });
  return createConfig({
    chains: [chain],
    connectors,
    transports: { [chain.id]: http(config.rpcUrl) },
    ssr: true,
    multiInjectedProviderDiscovery: true,
  });
}
