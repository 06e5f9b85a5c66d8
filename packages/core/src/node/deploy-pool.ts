import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, erc20Abi, getAddress, http, parseUnits, type Address, type Hex, type PublicClient } from 'viem';
import { CHAIN_PRESETS, LOCAL_CHAIN_ID, type ChainPresetName } from '../chains.js';
import {
  DEFAULT_C_MAX,
  DEFAULT_STATE_KEY_DELAY,
  DEFAULT_STATE_KEY_GRACE,
  DEFAULT_TTL_DAYS,
  DeployError,
  STATE_KEY_DELAY_RANGE,
  TEST_TOKEN_DECIMALS,
  defaultPriceUnit,
  deployContracts,
} from '../deploy.js';
import { CREDIT_VK_SHA256 } from '../generated/circuit.js';
import { MAX_TTL_DAYS, METERED_AMOUNT_BITS, TREE_DEPTH } from '../generated/constants.js';
import { creditPoolAbi } from '../generated/abis.js';
import type { DeploymentManifest } from '../manifest.js';
import { permitDomain } from '../permit.js';
import { generateStateSecret, isStatePublicKey, type StatePublicKey } from '../v2/state-key.js';
import { readStateKeys } from '../v2/state-keys.js';
import { writeDeploymentManifest } from './manifest.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

export type DeploySigner =
  | { privateKey: Hex }
  | { keystore: { path: string; passwordFile: string } };

export type DeployCreditPoolParameters = {
  chain: ChainPresetName;
  /** Default: the preset's public RPC. */
  rpcUrl?: string;
  /** The payment ERC-20, or `test` for a fresh open-mint TestToken (chain 31337 only). */
  token: Address | 'test';
  /** Price of one credit in token units, as a person writes it: `0.05`. */
  price: string;
  /** Price of one v2 flat-account ticket (one call) in token units (default: `price`). */
  ticketPrice?: string;
  /** v2 flat-account lifetime in days, `1..MAX_TTL_DAYS`, fixed for the deployment (default 365). */
  ttlDays?: number;
  /**
   * Metered accounts: token base units per price unit (default one micro-token: `10^(decimals − 6)`, or 1
   * for a token with fewer than 6 decimals).
   */
  priceUnit?: bigint;
  /** Metered accounts: what one call pre-pays, in price units, `1 … 2^40 − 1` (default 50,000). */
  cMax?: number;
  /**
   * The server's state key (Grumpkin point) to pin, or the state secret whose public key is pinned. Required
   * off the local chain; on the local chain (31337) a fresh secret is generated when neither is given and
   * returned as `stateSecret`.
   */
  stateKey?: StatePublicKey | { secret: bigint };
  /** Seconds from a state key proposal to its activation (default a day). */
  stateKeyDelay?: number;
  /** Seconds the previous state key stays valid after a rotation (default a week). */
  stateKeyGrace?: number;
  owner: Address;
  treasury: Address;
  signer: DeploySigner;
  /** Folder of deployment manifests (default: `deployments/` of this checkout). */
  outDir?: string;
  repoRoot?: string;
  /** Progress lines for people; never given secrets. */
  log?: (line: string) => void;
};

export type DeployCreditPoolResult = {
  manifest: DeploymentManifest;
  manifestPath: string;
  /** The pinned state key (also readable on chain: `stateKeys()`). */
  stateKey: StatePublicKey;
  /** The state secret when it was generated here (local chain, no key given): the caller must keep it. */
  generatedStateSecret?: bigint;
};

/**
 * The deploy command: checks the chain and the token, converts the price from token units, deploys
 * CreditPool with the forge script, checks the deployed bytecode and state against what was asked,
 * and writes the deployment manifest (`<outDir>/<chainId>-<address>.json`).
 * @throws {DeployError} with what to fix, before anything is sent whenever the problem is knowable.
 */
export async function deployCreditPool(p: DeployCreditPoolParameters): Promise<DeployCreditPoolResult> {
  const log = p.log ?? (() => {});
  const preset = CHAIN_PRESETS[p.chain];
  if (!preset) throw new DeployError(`unknown chain "${String(p.chain)}"`, { details: `use one of ${Object.keys(CHAIN_PRESETS).join(', ')}` });
  const rpcUrl = p.rpcUrl ?? preset.rpcUrl;
  const client = createPublicClient({ transport: http(rpcUrl), pollingInterval: 100 }) as PublicClient;

  const chainId = await client.getChainId().catch((cause: unknown) => {
    throw new DeployError(`the RPC at ${rpcUrl} does not answer`, { details: 'check --rpc-url', cause });
  });
  if (chainId !== preset.id) {
    throw new DeployError(`the RPC is on chain ${chainId}, not ${preset.name} (${preset.id})`, { details: `--chain ${p.chain} with --rpc-url ${rpcUrl}` });
  }
  const owner = address(p.owner, 'owner');
  const treasury = address(p.treasury, 'treasury');

  let token: Address | undefined;
  let decimals: number;
  if (p.token === 'test') {
    if (chainId !== LOCAL_CHAIN_ID) {
      throw new DeployError(`the test token has an open mint and is refused on chain ${chainId}`, {
        details: `it is only for the local chain ${LOCAL_CHAIN_ID}; give --token <your ERC-20 address>`,
      });
    }
    decimals = TEST_TOKEN_DECIMALS;
  } else {
    token = address(p.token, 'token');
    ({ decimals } = await readToken(client, token));
  }
  const pricePerCredit = parsePrice(p.price, decimals);
  const pricePerTicket = p.ticketPrice === undefined ? pricePerCredit : parsePrice(p.ticketPrice, decimals, 'ticket price');
  const ttlDays = p.ttlDays ?? DEFAULT_TTL_DAYS;
  if (!Number.isInteger(ttlDays) || ttlDays < 1 || ttlDays > MAX_TTL_DAYS) {
    throw new DeployError(`the account lifetime must be 1 to ${MAX_TTL_DAYS} days`, { details: `got ${ttlDays}` });
  }
  const metered = meteredSettings(p, decimals, chainId);
  const keystore = 'keystore' in p.signer ? { ...p.signer.keystore, address: await keystoreAddress(p.signer.keystore, p.repoRoot ?? REPO_ROOT) } : undefined;
  log(`deploying CreditPool on ${preset.name} (chain ${chainId}): price ${p.price} per credit = ${pricePerCredit} base units, ${p.ticketPrice ?? p.price} per account ticket = ${pricePerTicket} base units, accounts live ${ttlDays} days`);
  log(
    `metered accounts: price unit ${metered.priceUnit} base units, a call pre-pays ${metered.cMax} price units, state key rotation after ${metered.stateKeyDelay} s with ${metered.stateKeyGrace} s grace` +
      (metered.generated ? ' (state key: a fresh dev secret, local chain only)' : ''),
  );

  const deployed = await deployContracts({
    rpcUrl,
    ...('privateKey' in p.signer ? { privateKey: p.signer.privateKey } : { keystore }),
    token,
    pricePerCredit,
    pricePerTicket,
    ttlDays,
    priceUnit: metered.priceUnit,
    cMax: metered.cMax,
    ...(metered.stateKey ? { stateKey: metered.stateKey } : { stateSecret: metered.stateSecret }),
    stateKeyDelay: metered.stateKeyDelay,
    stateKeyGrace: metered.stateKeyGrace,
    owner,
    treasury,
    repoRoot: p.repoRoot,
  });
  log(`CreditPool at ${deployed.creditPool}, deployment block ${deployed.deploymentBlock}`);

  const info = await readToken(client, deployed.token);
  if (info.decimals !== decimals) {
    throw new DeployError('the token changed its decimals during the deployment', { details: `${decimals} before, ${info.decimals} after` });
  }
  await verifyDeployment(
    client,
    deployed.creditPool,
    {
      token: deployed.token,
      pricePerCredit,
      pricePerTicket,
      ttlDays,
      owner,
      treasury,
      deploymentBlock: deployed.deploymentBlock,
      metered: { priceUnit: deployed.priceUnit, cMax: deployed.cMax, stateKey: deployed.stateKey, stateKeyDelay: deployed.stateKeyDelay, stateKeyGrace: deployed.stateKeyGrace },
    },
    p.repoRoot ?? REPO_ROOT,
  );
  log('deployed bytecode and state match the build');

  const block = await client.getBlock({ blockNumber: deployed.deploymentBlock });
  const manifest: DeploymentManifest = {
    version: 1,
    chainId,
    creditPool: deployed.creditPool,
    deploymentBlock: deployed.deploymentBlock,
    deploymentBlockHash: block.hash.toLowerCase() as Hex,
    token: { address: deployed.token, symbol: info.symbol, decimals: info.decimals, permit: (await permitDomain(client, deployed.token, chainId)) !== undefined },
    pricePerCredit,
    pricePerTicket,
    ttlDays,
    priceUnit: deployed.priceUnit,
    cMax: deployed.cMax,
    stateKeyDelay: deployed.stateKeyDelay,
    stateKeyGrace: deployed.stateKeyGrace,
    owner,
    treasury,
    deployer: deployed.deployer,
    vkSha256: CREDIT_VK_SHA256,
    treeDepth: TREE_DEPTH,
  };
  const manifestPath = await writeDeploymentManifest(p.outDir ?? join(p.repoRoot ?? REPO_ROOT, 'deployments'), manifest);
  log(`manifest: ${manifestPath}`);
  return { manifest, manifestPath, stateKey: deployed.stateKey, ...(metered.generated ? { generatedStateSecret: metered.stateSecret! } : {}) };
}

/**
 * The metered-account constants of a deployment with their defaults, checked before anything is sent.
 * Off the local chain a state key is required: a generated secret would have to leave this process.
 */
function meteredSettings(p: DeployCreditPoolParameters, decimals: number, chainId: number) {
  const priceUnit = p.priceUnit ?? defaultPriceUnit(decimals);
  if (typeof priceUnit !== 'bigint' || priceUnit < 1n || priceUnit >= 1n << 128n) {
    throw new DeployError('the price unit must be 1 to 2^128 − 1 token base units', { details: `got ${String(priceUnit)}` });
  }
  const cMax = p.cMax ?? DEFAULT_C_MAX;
  if (!Number.isSafeInteger(cMax) || cMax < 1 || cMax >= 2 ** METERED_AMOUNT_BITS) {
    throw new DeployError(`C_max must be a whole number of price units from 1 to 2^${METERED_AMOUNT_BITS} − 1`, { details: `got ${cMax}` });
  }
  const stateKeyDelay = p.stateKeyDelay ?? DEFAULT_STATE_KEY_DELAY;
  if (!Number.isInteger(stateKeyDelay) || stateKeyDelay < STATE_KEY_DELAY_RANGE.min || stateKeyDelay > STATE_KEY_DELAY_RANGE.max) {
    throw new DeployError(`the state key delay must be ${STATE_KEY_DELAY_RANGE.min} to ${STATE_KEY_DELAY_RANGE.max} seconds`, { details: `got ${stateKeyDelay}` });
  }
  const stateKeyGrace = p.stateKeyGrace ?? DEFAULT_STATE_KEY_GRACE;
  if (!Number.isInteger(stateKeyGrace) || stateKeyGrace < 0 || stateKeyGrace > STATE_KEY_DELAY_RANGE.max) {
    throw new DeployError(`the state key grace must be 0 to ${STATE_KEY_DELAY_RANGE.max} seconds`, { details: `got ${stateKeyGrace}` });
  }
  let stateKey: StatePublicKey | undefined;
  let stateSecret: bigint | undefined;
  let generated = false;
  if (p.stateKey === undefined) {
    if (chainId !== LOCAL_CHAIN_ID) {
      throw new DeployError('no state key: metered calls need the server\'s state key pinned at deployment', {
        details: 'give --state-key <x>,<y> (the public key) or --state-secret-file <file> (the secret the server will use, ZKC_STATE_KEY_FILE)',
      });
    }
    stateSecret = generateStateSecret();
    generated = true;
  } else if ('secret' in p.stateKey) {
    stateSecret = p.stateKey.secret;
  } else {
    if (!isStatePublicKey(p.stateKey)) throw new DeployError('the state key is not a point of Grumpkin', { details: 'check --state-key <x>,<y>' });
    stateKey = p.stateKey;
  }
  return { priceUnit, cMax, stateKeyDelay, stateKeyGrace, stateKey, stateSecret, generated };
}

/** Price in token units → base units; refuses zero, negatives and more fraction digits than the token has. */
export function parsePrice(price: string, decimals: number, name = 'price'): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(price.trim());
  if (!m) throw new DeployError(`${name} "${price}" is not a number`, { details: 'write it in token units, e.g. --price 0.05' });
  if ((m[2]?.length ?? 0) > decimals) {
    throw new DeployError(`${name} "${price}" has more decimals than the token (${decimals})`, { details: 'round it to what the token can represent' });
  }
  const units = parseUnits(price.trim(), decimals);
  if (units <= 0n) throw new DeployError(`the ${name} must be above zero`, { details: `got ${price}` });
  return units;
}

function address(value: string, name: string): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw new DeployError(`${name} must be a 0x-prefixed 20-byte address`, { details: `got "${value}"` });
  const a = getAddress(value);
  if (a === '0x0000000000000000000000000000000000000000') throw new DeployError(`${name} must not be the zero address`);
  return a;
}

async function readToken(client: PublicClient, token: Address): Promise<{ symbol: string; decimals: number }> {
  const code = await client.getCode({ address: token });
  if (!code || code === '0x') throw new DeployError(`no contract at token address ${token} on this chain`, { details: 'check --token and --chain' });
  try {
    const [decimals, symbol] = await Promise.all([
      client.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
      client.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
    ]);
    return { decimals, symbol: symbol.slice(0, 32) || '?' };
  } catch (cause) {
    throw new DeployError(`${token} does not look like an ERC-20 with decimals() and symbol()`, { cause });
  }
}

/** The keystore's address, from `cast wallet address` (Foundry keystores do not store it in clear). */
async function keystoreAddress(keystore: { path: string; passwordFile: string }, repoRoot: string): Promise<Address> {
  const cast = join(repoRoot, 'node_modules/@foundry-rs', `cast-${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`, 'bin/cast');
  const out = await new Promise<string>((resolvePromise, reject) => {
    execFile(cast, ['wallet', 'address', '--keystore', keystore.path, '--password-file', keystore.passwordFile], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new DeployError(`cannot open the keystore ${keystore.path}`, {
            details: `${`${stderr}`.trim().split('\n').pop() ?? ''} (a Foundry keystore, e.g. from \`cast wallet import NAME --interactive\`, and the file holding its password)`,
            cause: error,
          }),
        );
      } else resolvePromise(`${stdout}`.trim());
    });
  });
  if (!/^0x[0-9a-fA-F]{40}$/.test(out)) throw new DeployError(`cannot read the keystore ${keystore.path}`, { details: out.slice(0, 100) });
  return getAddress(out);
}

type Expected = {
  token: Address;
  pricePerCredit: bigint;
  /** Checked when given (v2 flat accounts). */
  pricePerTicket?: bigint;
  ttlDays?: number;
  /** Checked when given (v2 metered accounts): the constants and the pinned state key. */
  metered?: { priceUnit: bigint; cMax: number; stateKey: StatePublicKey; stateKeyDelay: number; stateKeyGrace: number };
  owner: Address;
  treasury: Address;
  deploymentBlock: bigint;
};

/**
 * Compares the code at `pool` with the forge build's runtime bytecode (immutables masked, then read
 * through their getters) and the initial state with what was asked for.
 */
export async function verifyDeployment(client: PublicClient, pool: Address, expected: Expected, repoRoot = REPO_ROOT): Promise<void> {
  const artifact = JSON.parse(readFileSync(join(repoRoot, 'contracts/out/CreditPool.sol/CreditPool.json'), 'utf8')) as {
    deployedBytecode: { object: Hex; immutableReferences: Record<string, { start: number; length: number }[]> };
  };
  const onChain = await client.getCode({ address: pool });
  const built = artifact.deployedBytecode.object.toLowerCase();
  if (!onChain || onChain.length !== built.length) {
    throw new DeployError('the code at the CreditPool address is not this build', { details: `${(onChain?.length ?? 2) / 2 - 1} bytes on chain, ${built.length / 2 - 1} built` });
  }
  const mask = (hex: string) => {
    const chars = hex.toLowerCase().split('');
    for (const refs of Object.values(artifact.deployedBytecode.immutableReferences)) {
      for (const { start, length } of refs) chars.fill('0', 2 + start * 2, 2 + (start + length) * 2);
    }
    return chars.join('');
  };
  if (mask(onChain) !== mask(built)) throw new DeployError('the code at the CreditPool address differs from this build', { details: pool });

  const read = <T>(functionName: 'paymentToken' | 'pricePerCredit' | 'pricePerTicket' | 'ttlDays' | 'owner' | 'treasury' | 'deploymentBlock' | 'treeDepth') =>
    client.readContract({ address: pool, abi: creditPoolAbi, functionName }) as Promise<T>;
  const [token, price, ticketPrice, ttlDays, owner, treasury, block, depth] = await Promise.all([
    read<Address>('paymentToken'),
    read<bigint>('pricePerCredit'),
    read<bigint>('pricePerTicket'),
    read<bigint>('ttlDays'),
    read<Address>('owner'),
    read<Address>('treasury'),
    read<bigint>('deploymentBlock'),
    read<bigint>('treeDepth'),
  ]);
  const mismatches = [
    getAddress(token) !== expected.token && `paymentToken ${token}, expected ${expected.token}`,
    price !== expected.pricePerCredit && `pricePerCredit ${price}, expected ${expected.pricePerCredit}`,
    expected.pricePerTicket !== undefined && ticketPrice !== expected.pricePerTicket && `pricePerTicket ${ticketPrice}, expected ${expected.pricePerTicket}`,
    expected.ttlDays !== undefined && ttlDays !== BigInt(expected.ttlDays) && `ttlDays ${ttlDays}, expected ${expected.ttlDays}`,
    getAddress(owner) !== expected.owner && `owner ${owner}, expected ${expected.owner}`,
    getAddress(treasury) !== expected.treasury && `treasury ${treasury}, expected ${expected.treasury}`,
    block !== expected.deploymentBlock && `deploymentBlock ${block}, expected ${expected.deploymentBlock}`,
    depth !== BigInt(TREE_DEPTH) && `treeDepth ${depth}, expected ${TREE_DEPTH}`,
  ].filter(Boolean);
  if (expected.metered) {
    const m = expected.metered;
    const read2 = (functionName: 'priceUnit' | 'cMax' | 'stateKeyDelay' | 'stateKeyGrace') => client.readContract({ address: pool, abi: creditPoolAbi, functionName });
    const [priceUnit, cMax, delay, grace, keys] = await Promise.all([read2('priceUnit'), read2('cMax'), read2('stateKeyDelay'), read2('stateKeyGrace'), readStateKeys(client, pool)]);
    mismatches.push(
      ...[
        priceUnit !== m.priceUnit && `priceUnit ${priceUnit}, expected ${m.priceUnit}`,
        cMax !== BigInt(m.cMax) && `cMax ${cMax}, expected ${m.cMax}`,
        delay !== BigInt(m.stateKeyDelay) && `stateKeyDelay ${delay}, expected ${m.stateKeyDelay}`,
        grace !== BigInt(m.stateKeyGrace) && `stateKeyGrace ${grace}, expected ${m.stateKeyGrace}`,
        (keys.current.x !== m.stateKey.x || keys.current.y !== m.stateKey.y) && 'the state key differs from the one asked for',
      ].filter(Boolean),
    );
  }
  if (mismatches.length > 0) throw new DeployError('the deployed CreditPool is not configured as asked', { details: mismatches.join('; ') });
}
