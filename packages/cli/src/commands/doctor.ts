/**
 * `zkcredits doctor`: checks what a paid call needs, one line each (ok / fail / skipped, and a fix):
 * the home, the SOCKS proxy, the RPC, the server, the CRS, the prover, the DCAP collateral (through an
 * attestation of an E2EE model), and the vault's key. Exits `doctor` (11) when any check fails.
 */
import { MerkleTree, buildSpendWitness, credentialCommitment, generateCredential, initPoseidon2 } from '@zkcredits/core';
import { MemoryCreditStore, ZkCreditsClient, type Network } from '@zkcredits/client';
import { ensureCrs, nodeProver } from '@zkcredits/client/node';
import { createPublicClient } from 'viem';
import type { Context } from '../context.js';
import { CliError, describeError } from '../errors.js';
import { crsCacheDir, type CliConfig } from '../home.js';
import { FileVaultStorage } from '../vault-file.js';
import { loadVaultKey } from '../secrets.js';

type Status = 'ok' | 'fail' | 'skipped';
type Check = { name: string; status: Status; detail: string; fix?: string };

function brief(error: unknown): string {
  const d = describeError(error);
  return d.details ? `${d.message} (${d.details.split('\n')[0]!.slice(0, 200)})` : d.message;
}

export async function doctor(ctx: Context, options: { model?: string }): Promise<void> {
  const checks: Check[] = [];
  const add = (c: Check) => {
    checks.push(c);
    const mark = c.status === 'ok' ? '✔' : c.status === 'fail' ? '✖' : '–';
    ctx.out.line(`${mark} ${c.name.padEnd(10)} ${c.status.padEnd(7)} ${c.detail}${c.fix ? `\n  fix: ${c.fix}` : ''}`);
  };
  const skip = (name: string, why: string) => add({ name, status: 'skipped', detail: why });

  let config: CliConfig | undefined;
  try {
    config = await ctx.home.readConfig();
    add({ name: 'home', status: 'ok', detail: `${ctx.home.dir} (server ${config.server})` });
  } catch (error) {
    add({ name: 'home', status: 'fail', detail: brief(error), fix: 'run `zkcredits init --server <url> --rpc <url>` (or pass the right --home)' });
  }

  let network: Network | undefined;
  const socks = ctx.socksSetting(config);
  try {
    network = await ctx.network(config);
    add({ name: 'socks', status: 'ok', detail: network.proxied ? `${network.proxy} answers; every request goes through it` : 'no SOCKS proxy set: direct connections' });
  } catch (error) {
    add({ name: 'socks', status: 'fail', detail: brief(error), fix: socks ? 'start the SOCKS5 proxy (Tor: socks5://127.0.0.1:9050) or fix --socks5 / ZKC_SOCKS_PROXY' : 'check the proxy URL' });
  }

  let client: ZkCreditsClient | undefined;
  if (!config || !network) {
    for (const name of ['rpc', 'server', 'collateral']) skip(name, 'needs the home and the network');
  } else {
    try {
      const chainId = await createPublicClient({ transport: network.rpcTransport(config.rpcUrl) }).getChainId();
      if (chainId === config.chainId) add({ name: 'rpc', status: 'ok', detail: `${new URL(config.rpcUrl).origin} is on chain ${chainId}` });
      else add({ name: 'rpc', status: 'fail', detail: `the RPC is on chain ${chainId}, the credits on ${config.chainId}`, fix: 'point rpcUrl in config.json at an RPC of that chain' });
    } catch (error) {
      add({ name: 'rpc', status: 'fail', detail: brief(error), fix: 'check rpcUrl in config.json and that the RPC answers' });
    }
    client = new ZkCreditsClient({
      server: config.server,
      store: new MemoryCreditStore(),
      prover: () => Promise.reject(new Error('doctor proves nothing')),
      chain: { rpcUrl: config.rpcUrl, fetch: network.chainFetch },
      expect: { chainId: config.chainId, contract: config.contract as `0x${string}` },
      fetch: network.fetch,
    });
    try {
      await client.checkServer();
      add({ name: 'server', status: 'ok', detail: `${config.server}: pinned verification key, chain ${config.chainId}, CreditPool ${config.contract}` });
    } catch (error) {
      add({ name: 'server', status: 'fail', detail: brief(error), fix: 'is the server up, and the one chosen at init? (a different key, chain or contract is never used)' });
      client = undefined;
    }
  }

  let crsPath: string | undefined;
  const crsSetting = ctx.options.crs ?? process.env.ZKC_CRS_PATH;
  try {
    crsPath = await ensureCrs({ path: crsSetting ?? crsCacheDir(), cacheDir: crsCacheDir(), network: network ?? { fetch: () => Promise.reject(new Error('no network')) } });
    add({ name: 'crs', status: 'ok', detail: `${crsPath} (SHA-256 checked)` });
  } catch (error) {
    add({ name: 'crs', status: 'fail', detail: brief(error), fix: crsSetting ? 'fix --crs / ZKC_CRS_PATH' : 'run `zkcredits chat` once to download it (checked), or pass --crs <dir> / ZKC_CRS_PATH' });
  }

  if (!crsPath) skip('prover', 'needs the CRS');
  else {
    try {
      // A real round trip: a proof of a throwaway credential, verified. (Destroying a native
      // backend that has not answered yet races bb.js's connection: an unhandled rejection.)
      const started = Date.now();
      await initPoseidon2();
      const prover = await nodeProver({ crsPath })();
      try {
        const credential = generateCredential();
        const tree = new MerkleTree();
        tree.insertMany([credentialCommitment(credential)]);
        const proof = await prover.prove(buildSpendWitness(credential, tree, 1n));
        const verifier = prover as Partial<{ verify(p: typeof proof): Promise<boolean> }>;
        if (verifier.verify && !(await verifier.verify(proof))) throw new Error('a fresh proof does not verify under the pinned key');
      } finally {
        await prover.destroy?.();
      }
      add({ name: 'prover', status: 'ok', detail: `proves and verifies a throwaway spend (${Date.now() - started} ms)` });
    } catch (error) {
      add({ name: 'prover', status: 'fail', detail: brief(error), fix: 'reinstall zkcredits (the native bb binary or its WASM is missing)' });
    }
  }

  if (client) {
    try {
      const models = await client.models();
      const model = options.model ?? models.find((m) => m.e2ee === true)?.id;
      if (!model) skip('collateral', 'the server lists no end-to-end encrypted model');
      else {
        const report = await client.attest(model);
        const dcap = report.checks.filter((c) => c.name === 'dcap_signature' || c.name === 'dcap_crl' || c.name === 'tcb_status');
        const failed = dcap.filter((c) => c.status === 'fail');
        if (failed.length === 0 && dcap.some((c) => c.status === 'pass')) add({ name: 'collateral', status: 'ok', detail: `${model}: DCAP collateral fresh and valid${report.collateralNextUpdate ? ` until ${report.collateralNextUpdate}` : ''}` });
        else add({ name: 'collateral', status: 'fail', detail: `${model}: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ') || 'no DCAP check passed'}`, fix: `run \`zkcredits attest ${model}\` for every check; the server's /v1/tee/collateral mirror may be stale` });
      }
    } catch (error) {
      add({ name: 'collateral', status: 'fail', detail: brief(error), fix: 'the server’s attestation or collateral routes did not answer' });
    }
    await client.close();
  }

  if (config) {
    try {
      const stored = await new FileVaultStorage(ctx.home.vaultPath).load();
      if (!stored) throw new CliError('not_initialized', 'no vault file');
      if (config.keyStorage === 'keychain') loadVaultKey(config.vaultId);
      add({ name: 'vault', status: 'ok', detail: `${stored.credits.length} stored credits; key ${config.keyStorage === 'keychain' ? 'in the OS keychain' : 'by passphrase'}` });
    } catch (error) {
      add({ name: 'vault', status: 'fail', detail: brief(error), fix: 'restore it with `zkcredits import <backup>` into a fresh home' });
    }
  }

  const ok = checks.every((c) => c.status !== 'fail');
  ctx.out.result({ ok, checks });
  if (!ok) throw new CliError('doctor_failed', `${checks.filter((c) => c.status === 'fail').length} check(s) failed.`);
}
