'use client';
import { useQuery } from '@tanstack/react-query';
import { useAccount, usePublicClient } from 'wagmi';
import { listModels } from '../api/client';
import { fmt, getQuote } from '../chain/purchase';
import { useConfig } from './config-context';

export function useQuote() {
  const config = useConfig();
  const client = usePublicClient({ chainId: config.chainId });
  const { address } = useAccount();
  return useQuery({
    queryKey: ['quote', config.chainId, config.pool, address],
    queryFn: () => getQuote(client!, config.pool, address, config.token),
    enabled: !!client,
    refetchInterval: 15_000,
  });
}

export function useModels() {
  return useQuery({
    queryKey: ['models'],
    queryFn: ({ signal }) => listModels(signal),
    staleTime: 5 * 60_000,
    retry: 2,
    // Until the server knows which models take end-to-end encryption, ask again soon.
    refetchInterval: (query) => (query.state.data?.some((m) => m.e2ee === null) ? 2_000 : false),
  });
}

/**
 * Formats token base units as money: the token of the deployment manifest, else the one a metered
 * account recorded at opening (`fallback`); undefined when neither says.
 */
export function useMoneyFormat(fallback?: { decimals: number; symbol?: string }): ((amount: bigint) => string) | undefined {
  const config = useConfig();
  const token = config.token ?? (fallback ? { decimals: fallback.decimals, symbol: fallback.symbol ?? '' } : undefined);
  if (!token) return undefined;
  return (amount) => fmt(amount, token).trimEnd();
}
