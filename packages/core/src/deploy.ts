import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, erc20Abi, getAddress, http, type Address } from 'viem';
import { z } from 'zod';
import { ZkCreditsError } from './errors.js';
import { creditPoolAbi } from './generated/abis.js';
import { MAX_TTL_DAYS, METERED_AMOUNT_BITS } from './generated/constants.js';
import { STATE_KEY_ORDER, generateStateSecret, isStatePublicKey, statePublicKey, type StatePublicKey } from './v2/state-key.js';

/**
 * Flat-account lifetime of a deployment unless told otherwise: a year. Servers keep every ticket until
 * first seen + ttlDays + grace, so a longer TTL costs server storage, a shorter one makes buyers
 * reopen accounts (and lose unused tickets) sooner.
 */
export const DEFAULT_TTL_DAYS = 365;

/** Metered accounts: what one call pre-pays unless told otherwise, in price units (0.05 tokens at micro-token units). */
export const DEFAULT_C_MAX = 50_000;

/** Metered accounts: seconds from a state key proposal to its activation unless told otherwise (a day). */
export const DEFAULT_STATE_KEY_DELAY = 86_400;

/** Metered accounts: seconds the previous state key stays valid after a rotation unless told otherwise (a week). */
export const DEFAULT_STATE_KEY_GRACE = 7 * 86_400;

/** Shortest and longest state key delay the contract accepts (`MIN_STATE_KEY_DELAY`, `MAX_STATE_KEY_PERIOD`). */
export const STATE_KEY_DELAY_RANGE = { min: 3_600, max: 365 * 86_400 } as const;

/** Decimals of contracts/src/TestToken.sol, the token deployed when none is given. */
export const TEST_TOKEN_DECIMALS = 6;

/**
 * The default price unit of a token with `decimals` decimals: one micro-token, `10^(decimals − 6)` base
 * units (10^12 for an 18-decimal token, 1 for a 6-decimal one), or 1 base unit for a token with fewer
 * than 6 decimals.
 */
export function defaultPriceUnit(decimals: number): bigint {
  return decimals >= 6 ? 10n ** BigInt(decimals - 6) : 1n;
}

/** Deployment failed: bad parameters, forge failed, or the chain disagrees with the script output. */
export class DeployError extends ZkCreditsError {
  override name = 'DeployError';
  constructor(shortMessage: string, options?: { details?: string; cause?: unknown }) {
    super('contract_error', shortMessage, options);
  }
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte address');
const parametersSchema = z.object({
  rpcUrl: z.url({ protocol: /^https?$/ }),
  /** The deploy key, handed to forge in its environment (never argv). Or use `keystore`. */
  privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 0x-prefixed 32-byte hex private key').optional(),
  /** A Foundry (Web3 Secret Storage) keystore and the file holding its password. */
  keystore: z.object({ path: z.string().min(1), passwordFile: z.string().min(1), address }).optional(),
  token: address.optional(),
  pricePerCredit: z.bigint().positive(),
  /** Price of one v2 flat-account ticket (one call) in token base units (default: `pricePerCredit`). */
  pricePerTicket: z.bigint().positive().optional(),
  /** v2 flat-account lifetime in days, fixed for the deployment (default `DEFAULT_TTL_DAYS`). */
  ttlDays: z.number().int().min(1).max(MAX_TTL_DAYS).optional(),
  /** Metered accounts: token base units per price unit (default `defaultPriceUnit` of the token's decimals). */
  priceUnit: z.bigint().positive().lt(1n << 128n).optional(),
  /** Metered accounts: what one call pre-pays, in price units, `1 … 2^40 − 1` (default `DEFAULT_C_MAX`). */
  cMax: z.number().int().min(1).max(2 ** METERED_AMOUNT_BITS - 1).optional(),
  /**
   * The server's state key to pin (a Grumpkin point). Or give `stateSecret` and its public key is pinned.
   * Neither: a fresh secret is generated and returned as `Deployment.stateSecret` (for dev and test chains).
   */
  stateKey: z.object({ x: z.bigint(), y: z.bigint() }).refine(isStatePublicKey, 'a point of Grumpkin').optional(),
  /** The server's state secret (`1 … order − 1`); its public key is pinned. Never logged or echoed. */
  stateSecret: z.bigint().positive().lt(STATE_KEY_ORDER, 'below the Grumpkin order').optional(),
  /** Seconds from a state key proposal to its activation (default `DEFAULT_STATE_KEY_DELAY`). */
  stateKeyDelay: z.number().int().min(STATE_KEY_DELAY_RANGE.min).max(STATE_KEY_DELAY_RANGE.max).optional(),
  /** Seconds the previous state key stays valid after a rotation (default `DEFAULT_STATE_KEY_GRACE`). */
  stateKeyGrace: z.number().int().min(0).max(STATE_KEY_DELAY_RANGE.max).optional(),
  owner: address,
  treasury: address,
  /** Repository root holding foundry.toml (default: this checkout). */
  repoRoot: z.string().optional(),
  /** forge executable (default: the @foundry-rs/forge binary of the repository). */
  forgeBinary: z.string().optional(),
  /** Kill forge after this many milliseconds (first run compiles with solc-js). */
  timeoutMs: z.number().int().positive().optional(),
});

export type DeployContractsParameters = z.input<typeof parametersSchema>;

export type Deployment = {
  chainId: number;
  creditPool: Address;
  deployer: Address;
  /** Payment token: the given `token`, or a freshly deployed TestToken (open mint, 6 decimals). */
  token: Address;
  /** Block of the CreditPool deployment (from the contract itself), where indexers start. */
  deploymentBlock: bigint;
  /** Metered accounts: token base units per price unit, and what one call pre-pays (price units). */
  priceUnit: bigint;
  cMax: number;
  /** The state key pinned at deployment, and the rotation delay and grace (seconds). */
  stateKey: StatePublicKey;
  stateKeyDelay: number;
  stateKeyGrace: number;
  /**
   * The state secret behind `stateKey` when this call knew it (given as `stateSecret`, or generated
   * because no key was given): hand it to the server (`ZKC_STATE_KEY_FILE`). Absent when only the
   * public key was given.
   */
  stateSecret?: bigint;
};

const outputSchema = z.object({
  chainId: z.number().int().positive(),
  creditPool: address,
  token: address,
  deployer: address,
});

const defaultRepoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Deploys CreditPool (and a TestToken unless `token` is given) by running the real forge script
 * `contracts/script/Deploy.s.sol` against `rpcUrl`. The private key reaches forge through the
 * environment (not argv). Throws `DeployError` (code `contract_error`) on any failure.
 */
export async function deployContracts(parameters: DeployContractsParameters): Promise<Deployment> {
  const parsed = parametersSchema.safeParse(parameters);
  if (!parsed.success) {
    // Never echo the input: it contains the private key.
    const fields = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new DeployError('Invalid deployment parameters', { details: fields });
  }
  const p = parsed.data;
  if ((p.privateKey === undefined) === (p.keystore === undefined)) {
    throw new DeployError('Invalid deployment parameters', { details: 'give exactly one of privateKey and keystore' });
  }
  if (p.stateKey && p.stateSecret !== undefined) {
    throw new DeployError('Invalid deployment parameters', { details: 'give at most one of stateKey and stateSecret' });
  }
  const stateSecret = p.stateKey ? undefined : (p.stateSecret ?? generateStateSecret());
  const stateKey = p.stateKey ?? statePublicKey(stateSecret!);
  const cMax = p.cMax ?? DEFAULT_C_MAX;
  const stateKeyDelay = p.stateKeyDelay ?? DEFAULT_STATE_KEY_DELAY;
  const stateKeyGrace = p.stateKeyGrace ?? DEFAULT_STATE_KEY_GRACE;
  const priceUnit = p.priceUnit ?? defaultPriceUnit(p.token ? await tokenDecimals(p.rpcUrl, getAddress(p.token)) : TEST_TOKEN_DECIMALS);
  const signer = p.keystore
    ? ['--keystore', p.keystore.path, '--password-file', p.keystore.passwordFile, '--sender', p.keystore.address]
    : [];
  const repoRoot = p.repoRoot ?? defaultRepoRoot;
  const forge = p.forgeBinary ?? join(repoRoot, 'node_modules/@foundry-rs/forge-linux-amd64/bin/forge');
  const dir = await mkdtemp(join(tmpdir(), 'zkcredits-deploy-'));
  const out = join(dir, 'deployment.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TOKEN: p.token ?? '',
    PRICE_PER_CREDIT: p.pricePerCredit.toString(),
    PRICE_PER_TICKET: (p.pricePerTicket ?? p.pricePerCredit).toString(),
    TTL_DAYS: String(p.ttlDays ?? DEFAULT_TTL_DAYS),
    PRICE_UNIT: priceUnit.toString(),
    C_MAX: String(cMax),
    STATE_KEY_X: stateKey.x.toString(),
    STATE_KEY_Y: stateKey.y.toString(),
    STATE_KEY_DELAY: String(stateKeyDelay),
    STATE_KEY_GRACE: String(stateKeyGrace),
    OWNER: p.owner,
    TREASURY: p.treasury,
    DEPLOY_OUT: out,
  };
  if (p.privateKey) env.DEPLOYER_PRIVATE_KEY = p.privateKey;
  else delete env.DEPLOYER_PRIVATE_KEY;
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        forge,
        ['script', 'contracts/script/Deploy.s.sol:Deploy', '--rpc-url', p.rpcUrl, '--broadcast', ...signer],
        {
          cwd: repoRoot,
          env,
          timeout: p.timeoutMs ?? 300_000,
          maxBuffer: 64 * 1024 * 1024,
        },
        (error, _stdout, stderr) => {
          if (!error) return resolve();
          const tail = `${stderr}`.trim().split('\n').slice(-15).join('\n');
          reject(
            new DeployError('forge script Deploy.s.sol failed', {
              details: /script failed:/.test(tail) ? tail : `${tail || error.message} (is the RPC at ${p.rpcUrl} reachable and the deployer funded?)`,
              cause: error,
            }),
          );
        },
      );
    });

    let json: z.infer<typeof outputSchema>;
    try {
      json = outputSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    } catch (cause) {
      throw new DeployError('Deploy script output is missing or malformed', { details: out, cause });
    }
    const client = createPublicClient({ transport: http(p.rpcUrl) });
    const creditPool = getAddress(json.creditPool);
    const chainId = await client.getChainId();
    if (chainId !== json.chainId) {
      throw new DeployError('Chain changed during deployment', {
        details: `script saw chain ${json.chainId}, RPC reports ${chainId}`,
      });
    }
    const deploymentBlock = await client.readContract({
      address: creditPool,
      abi: creditPoolAbi,
      functionName: 'deploymentBlock',
    });
    return {
      chainId,
      creditPool,
      deployer: getAddress(json.deployer),
      token: getAddress(json.token),
      deploymentBlock,
      priceUnit,
      cMax,
      stateKey,
      stateKeyDelay,
      stateKeyGrace,
      ...(stateSecret === undefined ? {} : { stateSecret }),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `decimals()` of the payment token (for the default price unit). */
async function tokenDecimals(rpcUrl: string, token: Address): Promise<number> {
  try {
    return await createPublicClient({ transport: http(rpcUrl) }).readContract({ address: token, abi: erc20Abi, functionName: 'decimals' });
  } catch (cause) {
    throw new DeployError('cannot read the payment token\'s decimals() for the default price unit', { details: `${token}: give priceUnit, or check the token address`, cause });
  }
}
