// The app's deployment config, read the way `next start` reads it at render time: from a real
// manifest file (ZKC_DEPLOYMENT) written by core's writer, or from ZKC_CHAIN_ID/ZKC_POOL_ADDRESS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CREDIT_VK_SHA256, TREE_DEPTH, serializeDeploymentManifest, type DeploymentManifest } from '@zkcredits/core';
import { writeDeploymentManifest } from '@zkcredits/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readPublicConfig } from '../src/config';

const POOL = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const TOKEN = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512';
const OWNER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const HASH = `0x${'ab'.repeat(32)}` as const;

const manifest: DeploymentManifest = {
  version: 1,
  chainId: 84532,
  creditPool: POOL,
  deploymentBlock: 123_456_789n,
  deploymentBlockHash: HASH,
  token: { address: TOKEN, symbol: 'USDC', decimals: 6, permit: true },
  pricePerCredit: 10_000n,
  pricePerTicket: 10_000n,
  ttlDays: 365,
  owner: OWNER,
  treasury: OWNER,
  deployer: OWNER,
  vkSha256: CREDIT_VK_SHA256,
  treeDepth: TREE_DEPTH,
};

let dir: string;
let path: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'zkc-web-config-'));
  path = await writeDeploymentManifest(dir, manifest);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a variant of the manifest (as JSON text) and returns its path. */
function variant(name: string, patch: (json: Record<string, unknown>) => void): string {
  const json = JSON.parse(serializeDeploymentManifest(manifest)) as Record<string, unknown>;
  patch(json);
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('web config (readPublicConfig)', () => {
  it('takes chain, CreditPool, deployment block and token from the manifest; RPC and WalletConnect from the environment', () => {
    expect(readPublicConfig({ ZKC_DEPLOYMENT: path, ZKC_RPC_URL: 'https://sepolia.base.org', ZKC_WALLETCONNECT_PROJECT_ID: 'wc-id' })).toEqual({
      chainId: 84532,
      pool: POOL,
      rpcUrl: 'https://sepolia.base.org',
      walletConnectProjectId: 'wc-id',
      deployment: { block: '123456789', blockHash: HASH },
      token: { address: TOKEN, symbol: 'USDC', decimals: 6, permit: true },
    });
  });

  it('without a manifest, falls back to ZKC_CHAIN_ID and ZKC_POOL_ADDRESS (no deployment block, no token info)', () => {
    expect(readPublicConfig({ ZKC_CHAIN_ID: '31337', ZKC_POOL_ADDRESS: POOL })).toEqual({
      chainId: 31337,
      pool: POOL,
      rpcUrl: 'http://127.0.0.1:8545',
    });
  });

  it('accepts ZKC_CHAIN_ID/ZKC_POOL_ADDRESS that agree with the manifest, and refuses ones that do not', () => {
    expect(readPublicConfig({ ZKC_DEPLOYMENT: path, ZKC_CHAIN_ID: '84532', ZKC_POOL_ADDRESS: POOL.toLowerCase() }).pool).toBe(POOL);
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: path, ZKC_POOL_ADDRESS: TOKEN }))).toBe(
      `ZKC_POOL_ADDRESS=${TOKEN} disagrees with the deployment manifest ZKC_DEPLOYMENT (chain 84532, CreditPool ${POOL}). Remove it or make it match.`,
    );
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: path, ZKC_CHAIN_ID: '8453', ZKC_POOL_ADDRESS: TOKEN }))).toMatch(
      /^ZKC_CHAIN_ID=8453 and ZKC_POOL_ADDRESS=0x\w+ disagree with the deployment manifest/,
    );
  });

  it('says clearly what is wrong with a missing, broken or foreign manifest', () => {
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: join(dir, 'nope.json') }))).toMatch(/^ZKC_DEPLOYMENT: no deployment manifest at .*nope\.json/);
    writeFileSync(join(dir, 'garbage.json'), '{ not json');
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: join(dir, 'garbage.json') }))).toMatch(/is not JSON/);
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: variant('vk.json', (j) => (j.vkSha256 = '0'.repeat(64))) }))).toMatch(
      /was made for another credit circuit/,
    );
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: variant('field.json', (j) => delete j.deploymentBlockHash) }))).toMatch(
      /not a valid zkcredits deployment manifest \(deploymentBlockHash: /,
    );
    expect(configError(() => readPublicConfig({ ZKC_DEPLOYMENT: variant('mainnet.json', (j) => (j.chainId = 1)) }))).toMatch(
      /^invalid web config from the deployment manifest: chainId: .*The app buys on chains 8453, 84532, 31337\.$/,
    );
  });
});
