'use client';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { usePublicClient } from 'wagmi';
import { creditsFromResetChain, readDeploymentBlockHash, type ChainNow } from '../chain/chain-reset';
import { ErrorNotice } from './ErrorNotice';
import { useConfig } from './config-context';
import { useVault } from './vault-context';

/** The deployment as the chain has it now (its deployment block hash and latest block). */
function useChainNow(enabled: boolean) {
  const config = useConfig();
  const client = usePublicClient({ chainId: config.chainId });
  return useQuery({
    queryKey: ['chain-now', config.chainId, config.pool],
    queryFn: async (): Promise<ChainNow> => {
      const [deploymentBlockHash, latestBlock] = await Promise.all([
        readDeploymentBlockHash(client!, config.pool),
        client!.getBlockNumber({ cacheTime: 0 }),
      ]);
      return { chainId: config.chainId, pool: config.pool, deploymentBlockHash, latestBlock };
    },
    enabled: enabled && !!client,
    refetchInterval: 60_000,
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Credits bought on a chain that was reset since (a restarted Anvil, a wiped testnet) can never
 * be found on it: this offers to archive them (kept in the vault, no longer counted or used),
 * and warns when the app's deployment manifest does not match the chain.
 */
export function ChainResetNotice() {
  const config = useConfig();
  const { state, version, refresh } = useVault();
  const vault = state.status === 'unlocked' ? state.vault : undefined;
  const now = useChainNow(!!vault);
  const [archived, setArchived] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const stale = useMemo(
    () => (vault && now.data ? creditsFromResetChain(vault.list(), now.data) : []),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [vault, version, now.data],
  );
  const manifestStale = !!config.deployment && !!now.data && config.deployment.blockHash !== now.data.deploymentBlockHash;

  async function archive() {
    if (!vault) return;
    setBusy(true);
    setError(null);
    try {
      setArchived(await vault.archive(stale.map((r) => r.id)));
      refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const by = (status: string) => stale.filter((r) => r.status === status).length;
  const parts = [
    by('unspent') && `${by('unspent')} unused`,
    by('pending') && `${by('pending')} pending`,
    by('spent') && `${by('spent')} used`,
    by('abandoned') && `${by('abandoned')} not paid`,
  ].filter(Boolean);

  return (
    <>
      {manifestStale && (
        <div className="banner bad" role="alert" data-testid="manifest-stale">
          This app is set up for a CreditPool deployment that is not on the chain it reads (the chain was probably reset).
          Purchases may not be seen by the server until its operator updates the deployment.
        </div>
      )}
      {stale.length > 0 && (
        <div className="banner warn" role="region" aria-label="Credits from a reset chain" data-testid="reset-notice">
          <div className="banner-text">
            <b>{plural(stale.length, 'credit')} in your vault ({parts.join(', ')}) come from an earlier run of this chain.</b>{' '}
            The chain has been reset since, so they can never be found or used here. Archive them to keep them in your vault
            (and its backups) without counting them.
          </div>
          <button className="btn small" type="button" onClick={archive} disabled={busy}>
            {busy && <span className="spinner" />}Archive them
          </button>
          <ErrorNotice error={error} />
        </div>
      )}
      {archived !== null && stale.length === 0 && (
        <div className="banner ok" role="status" data-testid="archived-notice">
          <div className="banner-text">Archived {plural(archived, 'credit')} from the reset chain. They stay in your vault.</div>
          <button className="btn ghost small" type="button" onClick={() => setArchived(null)} aria-label="Dismiss">✕</button>
        </div>
      )}
    </>
  );
}
