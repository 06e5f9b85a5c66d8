/**
 * `zkcredits init`: choose a server, check it (its verification key is the pinned one, its chain
 * and contract are the ones chosen, the RPC is on that chain), create the encrypted vault and the
 * local proxy token. Nothing is written until every check has passed.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { Vault } from '@zkcredits/core/vault';
import { ClientError, MemoryCreditStore, ZkCreditsClient } from '@zkcredits/client';
import { getAddress } from 'viem';
import { z } from 'zod';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { NO_KEYCHAIN, deleteVaultKey, probeKeychain, randomVaultPassphrase, readPassphrase, storeVaultKey } from '../secrets.js';
import { FileVaultStorage, VaultLock } from '../vault-file.js';
import type { CliConfig } from '../home.js';
import { readIfExists } from '../files.js';

export type InitOptions = {
  server: string;
  rpc: string;
  chainId?: string;
  contract?: string;
  keychain?: boolean;
  model?: string;
};

const serverConfig = z.object({ chain_id: z.number().int().positive(), contract: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }).loose();

export async function init(ctx: Context, options: InitOptions): Promise<void> {
  const { home, out } = ctx;
  if ((await readIfExists(home.configPath).catch(() => undefined)) !== undefined) {
    throw new CliError('already_initialized', `${home.dir} is already initialised.`, { details: 'Use another --home, or move this one aside.' });
  }
  const expectChain = options.chainId === undefined ? undefined : Number(options.chainId);
  if (expectChain !== undefined && (!Number.isSafeInteger(expectChain) || expectChain <= 0)) throw new CliError('usage', '--chain-id must be a positive integer.');
  if (options.contract !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(options.contract)) throw new CliError('usage', '--contract must be a 20-byte hex address.');

  const network = await ctx.network();
  // The deployment: the one the user named, else the one the server serves (shown, to compare with the operator's).
  const probe = new ZkCreditsClient({
    server: options.server,
    store: new MemoryCreditStore(),
    prover: () => Promise.reject(new Error('init proves nothing')),
    chain: { rpcUrl: options.rpc, fetch: network.chainFetch },
    expect: { chainId: expectChain ?? 1, contract: (options.contract ?? `0x${'00'.repeat(20)}`) as `0x${string}` },
    fetch: network.fetch,
  });
  let chainId = expectChain;
  let contract = options.contract;
  if (chainId === undefined || contract === undefined) {
    const served = await out.step('Reading the server’s deployment', async () => {
      let res: Response;
      try {
        res = await network.fetch(`${probe.server}/v1/zkcredits/config`, { headers: { accept: 'application/json' } });
      } catch (cause) {
        throw new ClientError('server_unavailable', `Could not reach the server ${probe.server}.`, { details: (cause as Error).message, cause });
      }
      const parsed = serverConfig.safeParse(res.ok ? await res.json().catch(() => undefined) : undefined);
      if (!parsed.success) throw new CliError('config_invalid', `${probe.server} does not answer like a zkcredits server.`, { details: `GET /v1/zkcredits/config: HTTP ${res.status}` });
      return parsed.data;
    });
    chainId ??= served.chain_id;
    contract ??= served.contract;
  }
  contract = getAddress(contract);
  const client = new ZkCreditsClient({
    server: options.server,
    store: new MemoryCreditStore(),
    prover: () => Promise.reject(new Error('init proves nothing')),
    chain: { rpcUrl: options.rpc, fetch: network.chainFetch },
    expect: { chainId, contract: contract as `0x${string}` },
    fetch: network.fetch,
  });
  await out.step('Checking the server (verification key, chain, contract, RPC)', () => client.checkServer(), () => `Server checked: chain ${chainId}, CreditPool ${contract}`);

  // Key storage: the keychain when asked (or when one exists, by default), else a passphrase.
  let useKeychain = false;
  if (options.keychain !== false) {
    const probeResult = probeKeychain();
    if (probeResult.ok) useKeychain = true;
    else if (options.keychain === true) throw new CliError('keychain_unavailable', NO_KEYCHAIN, { details: probeResult.reason });
    else out.note(`${NO_KEYCHAIN} The vault is protected by a passphrase instead.`);
  }
  const passphrase = useKeychain ? randomVaultPassphrase() : await readPassphrase({ passphraseFile: ctx.options.passphraseFile }, 'New vault passphrase: ', true);

  await home.ensure();
  const lock = await VaultLock.acquire(home.lockPath, 'init');
  let vault: Vault | undefined;
  try {
    const storage = new FileVaultStorage(home.vaultPath);
    vault = await out.step('Creating the encrypted vault', () => Vault.create(storage, passphrase));
    try {
      if (useKeychain) storeVaultKey(vault.id, passphrase);
      const config: CliConfig = {
        version: 1,
        server: client.server,
        chainId,
        contract,
        rpcUrl: options.rpc,
        ...(ctx.socksSetting() ? { socks5: ctx.socksSetting()! } : {}),
        keyStorage: useKeychain ? 'keychain' : 'passphrase',
        vaultId: vault.id,
        proxyToken: `zkl_${randomBytes(32).toString('hex')}`,
        ...(options.model ? { defaultModel: options.model } : {}),
        createdAt: Date.now(),
      };
      await home.createConfig(config);
    } catch (error) {
      // Leave nothing half-made behind.
      if (useKeychain) deleteVaultKey(vault.id);
      await rm(home.vaultPath, { force: true });
      throw error;
    }
  } finally {
    vault?.lock();
    await lock.release();
    await client.close();
  }
  out.result({ ok: true, home: home.dir, server: client.server, chainId, contract, keyStorage: useKeychain ? 'keychain' : 'passphrase' });
  out.line(`Initialised ${home.dir}`);
  out.line(`  server      ${client.server}`);
  out.line(`  chain       ${chainId}, CreditPool ${contract}`);
  out.line(`  vault key   ${useKeychain ? 'in the OS keychain' : 'your passphrase (ZKC_PASSPHRASE, --passphrase-file, or asked)'}`);
  out.line('Next: `zkcredits buy <n>` (wallet key from ZKC_WALLET_KEY or --wallet-key-file), then `zkcredits chat`.');
}
