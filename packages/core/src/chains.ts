/** Chains zkcredits ships presets for: the deploy command, the web app and clients use these. */
export const CHAIN_PRESETS = {
  base: { id: 8453, name: 'Base', rpcUrl: 'https://mainnet.base.org', explorer: 'https://basescan.org' },
  'base-sepolia': { id: 84532, name: 'Base Sepolia', rpcUrl: 'https://sepolia.base.org', explorer: 'https://sepolia.basescan.org' },
  anvil: { id: 31337, name: 'Anvil (local)', rpcUrl: 'http://127.0.0.1:8545', explorer: undefined },
} as const;

export type ChainPresetName = keyof typeof CHAIN_PRESETS;

/** Chain id of local development chains (Anvil): the only one where the open-mint TestToken may live. */
export const LOCAL_CHAIN_ID = 31337;

/** Confirmations an indexer waits for by default: none on an automining local chain, 2 elsewhere. */
export function defaultConfirmations(chainId: number): number {
  return chainId === LOCAL_CHAIN_ID ? 0 : 2;
}
