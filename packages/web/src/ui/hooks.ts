'use client';
import { useQuery } from '@tanstack/react-query';
import { useAccount, usePublicClient } from 'wagmi';
import { listModels } from '../api/client';
import { getQuote } from '../chain/purchase';
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
