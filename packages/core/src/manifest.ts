import { getAddress, type Address, type Hash } from 'viem';
import { z } from 'zod';
import { ZkCreditsError } from './errors.js';
import { CREDIT_VK_SHA256 } from './generated/circuit.js';
import { MAX_TTL_DAYS, METERED_AMOUNT_BITS, TREE_DEPTH } from './generated/constants.js';

/**
 * A deployment manifest: the one file that tells every component (API server, web app,
 * CLI) which CreditPool to use. Written by the deploy command as
 * `deployments/<chainId>-<creditPool>.json` (PROTOCOL.md, "Deployment manifest").
 */
export type DeploymentManifest = {
  version: 1;
  chainId: number;
  creditPool: Address;
  /** Block of the CreditPool deployment (where indexers start) and its hash (detects a reset chain). */
  deploymentBlock: bigint;
  deploymentBlockHash: Hash;
  token: {
    address: Address;
    symbol: string;
    decimals: number;
    /** The token accepts ERC-2612 permits for this chain (its DOMAIN_SEPARATOR matches). */
    permit: boolean;
  };
  /** Price of one credit in token base units, as deployed. */
  pricePerCredit: bigint;
  /** Price of one v2 flat-account ticket (one call) in token base units, as deployed (the owner may change it). */
  pricePerTicket: bigint;
  /** v2 flat-account lifetime in days (`ttlDays()`, immutable): an account expires `ttlDays` after the day it was opened. */
  ttlDays: number;
  /**
   * v2 metered accounts: token base units per price unit (`priceUnit()`, immutable). Metered amounts
   * (deposits, stakes, `cMax`, refunds) are counted in price units. Absent from manifests written before
   * metered accounts, like the three fields below; the contract's getters are the source of truth.
   */
  priceUnit?: bigint;
  /** v2 metered accounts: what one call pre-pays, in price units (`cMax()`, immutable, `< 2^40`). */
  cMax?: number;
  /** v2 metered accounts: seconds from a state key proposal to its activation (`stateKeyDelay()`, immutable). */
  stateKeyDelay?: number;
  /** v2 metered accounts: seconds the previous state key stays valid after a rotation (`stateKeyGrace()`, immutable). The current key is read from the chain (`stateKeys()`). */
  stateKeyGrace?: number;
  owner: Address;
  treasury: Address;
  deployer: Address;
  /** SHA-256 of the credit circuit's verification key the deployment is meant for. */
  vkSha256: string;
  treeDepth: number;
};

/** A manifest that does not parse, or does not fit this build of zkcredits. */
export class ManifestError extends ZkCreditsError {
  override name = 'ManifestError';
  constructor(shortMessage: string, options?: { details?: string; cause?: unknown }) {
    super('invalid_manifest', shortMessage, options);
  }
}

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte address')
  .transform((a) => getAddress(a));
const uint = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'a decimal integer string')
  .transform((v) => BigInt(v));

const manifestSchema = z.strictObject({
  version: z.literal(1),
  chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  creditPool: address,
  deploymentBlock: uint,
  deploymentBlockHash: z
    .string()
    .regex(/^0x[0-9a-f]{64}$/, 'a 0x-prefixed 32-byte lowercase hex hash')
    .transform((h) => h as Hash),
  token: z.strictObject({
    address,
    symbol: z.string().min(1).max(32),
    decimals: z.number().int().min(0).max(36),
    permit: z.boolean(),
  }),
  pricePerCredit: uint.refine((v) => v > 0n, 'a positive price'),
  pricePerTicket: uint.refine((v) => v > 0n, 'a positive price'),
  ttlDays: z.number().int().min(1).max(MAX_TTL_DAYS),
  priceUnit: uint.refine((v) => v > 0n && v < 1n << 128n, 'a price unit from 1 to 2^128 - 1 base units').optional(),
  cMax: z.number().int().min(1).max(2 ** METERED_AMOUNT_BITS - 1).optional(),
  stateKeyDelay: z.number().int().positive().optional(),
  stateKeyGrace: z.number().int().nonnegative().optional(),
  owner: address,
  treasury: address,
  deployer: address,
  vkSha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  treeDepth: z.number().int().positive(),
});

/**
 * Parses a manifest (the JSON value, not the text) and checks that it fits this build:
 * the same circuit verification key and tree depth.
 * @throws {ManifestError} naming every bad field, or the mismatch.
 */
export function parseDeploymentManifest(json: unknown, source = 'deployment manifest'): DeploymentManifest {
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ManifestError(`${source} is not a valid zkcredits deployment manifest`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    });
  }
  const m = parsed.data;
  if (m.vkSha256 !== CREDIT_VK_SHA256) {
    throw new ManifestError(`${source} was made for another credit circuit`, {
      details: `manifest vkSha256 ${m.vkSha256}, this build ${CREDIT_VK_SHA256}: redeploy, or run the zkcredits version it was deployed with`,
    });
  }
  if (m.treeDepth !== TREE_DEPTH) {
    throw new ManifestError(`${source} has tree depth ${m.treeDepth}, this build ${TREE_DEPTH}`);
  }
  return m as DeploymentManifest;
}

/** The manifest as JSON-ready data (big integers as decimal strings). */
export function serializeDeploymentManifest(m: DeploymentManifest): string {
  const data = {
    version: m.version,
    chainId: m.chainId,
    creditPool: m.creditPool,
    deploymentBlock: m.deploymentBlock.toString(),
    deploymentBlockHash: m.deploymentBlockHash.toLowerCase(),
    token: { address: m.token.address, symbol: m.token.symbol, decimals: m.token.decimals, permit: m.token.permit },
    pricePerCredit: m.pricePerCredit.toString(),
    pricePerTicket: m.pricePerTicket.toString(),
    ttlDays: m.ttlDays,
    ...(m.priceUnit === undefined ? {} : { priceUnit: m.priceUnit.toString() }),
    ...(m.cMax === undefined ? {} : { cMax: m.cMax }),
    ...(m.stateKeyDelay === undefined ? {} : { stateKeyDelay: m.stateKeyDelay }),
    ...(m.stateKeyGrace === undefined ? {} : { stateKeyGrace: m.stateKeyGrace }),
    owner: m.owner,
    treasury: m.treasury,
    deployer: m.deployer,
    vkSha256: m.vkSha256,
    treeDepth: m.treeDepth,
  };
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** `<chainId>-<creditPool>.json` (checksummed address): two deployments on one chain never collide. */
export function manifestFileName(m: Pick<DeploymentManifest, 'chainId' | 'creditPool'>): string {
  return `${m.chainId}-${getAddress(m.creditPool)}.json`;
}
