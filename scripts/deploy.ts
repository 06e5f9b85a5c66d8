// `npm run deploy -- --chain base --token 0x… --price 0.05 [--ticket-price 0.05 --ttl-days 365] --owner 0x… --treasury 0x…
//                   --state-key 0x…,0x… | --state-secret-file PATH [--price-unit N --c-max N --state-key-delay S --state-key-grace S]`
// Deploys CreditPool, checks it, and writes deployments/<chainId>-<address>.json, the manifest the
// server (ZKC_DEPLOYMENT), the web app and clients read. docs/DEPLOY.md walks through it.
//
// The deploy key never goes on the command line (shell history, process list). Give exactly one of:
//   DEPLOYER_PRIVATE_KEY=0x…            in the environment
//   --key-file PATH                     a file holding the 0x… key (mode 600)
//   --keystore PATH --password-file P   a Foundry keystore (cast wallet import NAME --interactive)
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CHAIN_PRESETS, type ChainPresetName } from '../packages/core/src/chains.js';
import { DEFAULT_C_MAX, DEFAULT_STATE_KEY_DELAY, DEFAULT_STATE_KEY_GRACE, DEFAULT_TTL_DAYS } from '../packages/core/src/deploy.js';
import { MAX_TTL_DAYS, METERED_AMOUNT_BITS } from '../packages/core/src/generated/constants.js';
import { deployCreditPool, type DeploySigner } from '../packages/core/src/node/deploy-pool.js';
import { STATE_KEY_ORDER, isStatePublicKey, type StatePublicKey } from '../packages/core/src/v2/state-key.js';

const USAGE = `usage: npm run deploy -- --chain ${Object.keys(CHAIN_PRESETS).join('|')} --token <0x…|test> --price <amount> --owner <0x…> --treasury <0x…>
                         [--state-key <x>,<y> | --state-secret-file PATH] [--price-unit <base units>] [--c-max <price units>]
                         [--state-key-delay <seconds>] [--state-key-grace <seconds>] [--ticket-price <amount>] [--ttl-days <days>]
                         [--rpc-url URL] [--key-file PATH | --keystore PATH --password-file PATH] [--out DIR]
  --price        price of one credit in token units, e.g. 0.05 (the token's decimals are read from the chain)
  --ticket-price price of one call from a v2 flat account, in token units (default: --price)
  --ttl-days     lifetime of a v2 flat account (flat or metered) in days, 1..${MAX_TTL_DAYS}, fixed for the deployment (default ${DEFAULT_TTL_DAYS});
                 servers keep every ticket that long (plus a grace period)
  --state-key    metered accounts: the server's state public key (a Grumpkin point, hex or decimal) to pin on chain
  --state-secret-file  or the file holding the server's state secret (0x + 64 hex, the server's ZKC_STATE_KEY_FILE):
                 its public key is pinned. One of the two is required off the local chain; on the local chain (31337)
                 a fresh secret is written next to the manifest (<chainId>-<address>.state-secret, mode 600)
  --price-unit   metered accounts: token base units per price unit (default one micro-token, 10^(decimals-6); 1 below 6 decimals)
  --c-max        metered accounts: what one call pre-pays, in price units, 1..2^${METERED_AMOUNT_BITS}-1 (default ${DEFAULT_C_MAX})
  --state-key-delay  seconds from a state key proposal to its activation, 3600..31536000 (default ${DEFAULT_STATE_KEY_DELAY})
  --state-key-grace  seconds the previous state key stays valid after a rotation, 0..31536000 (default ${DEFAULT_STATE_KEY_GRACE})
  --token test   deploys an open-mint test token: local chain (31337) only
  the deploy key: DEPLOYER_PRIVATE_KEY in the environment, --key-file, or a Foundry --keystore; never argv`;

function fail(message: string): never {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(2);
}

function signerFrom(values: { 'key-file'?: string; keystore?: string; 'password-file'?: string }): DeploySigner {
  const fromEnv = process.env.DEPLOYER_PRIVATE_KEY;
  const given = [fromEnv ? 'DEPLOYER_PRIVATE_KEY' : '', values['key-file'] ? '--key-file' : '', values.keystore ? '--keystore' : ''].filter(Boolean);
  if (given.length !== 1) fail(given.length === 0 ? 'no deploy key: set DEPLOYER_PRIVATE_KEY, or give --key-file or --keystore' : `give one deploy key, not ${given.join(' and ')}`);
  if (values.keystore) {
    if (!values['password-file']) fail('--keystore needs --password-file (a file holding the keystore password)');
    return { keystore: { path: values.keystore, passwordFile: values['password-file'] } };
  }
  let key = fromEnv;
  if (values['key-file']) {
    const mode = statSync(values['key-file']).mode & 0o077;
    if (mode !== 0) process.stderr.write(`deploy: warning: ${values['key-file']} is readable by other users (chmod 600 it)\n`);
    key = readFileSync(values['key-file'], 'utf8').trim();
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key ?? '')) fail('the deploy key must be 0x followed by 64 hex digits');
  return { privateKey: key as `0x${string}` };
}

/** A whole number from a flag, within [min, max]. */
function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) fail(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** `--state-key x,y` (each 0x-hex or decimal), checked to be a Grumpkin point. */
function stateKeyFrom(value: string): StatePublicKey {
  const parts = value.split(',').map((v) => v.trim());
  const num = /^(0x[0-9a-fA-F]{1,64}|\d{1,78})$/;
  if (parts.length !== 2 || !parts.every((v) => num.test(v))) fail('--state-key must be <x>,<y>: two numbers, 0x-hex or decimal');
  const key = { x: BigInt(parts[0]!), y: BigInt(parts[1]!) };
  if (!isStatePublicKey(key)) fail('--state-key is not a point of Grumpkin (y^2 = x^3 - 17): check both coordinates');
  return key;
}

/** The state secret from `--state-secret-file` (0x + 64 hex digits); never printed. */
function stateSecretFrom(file: string): bigint {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    fail(`cannot read --state-secret-file ${file}`);
  }
  if ((statSync(file).mode & 0o077) !== 0) process.stderr.write(`deploy: warning: ${file} is readable by other users (chmod 600 it)\n`);
  const sk = /^0x[0-9a-fA-F]{64}$/.test(text) ? BigInt(text) : 0n;
  if (sk === 0n || sk >= STATE_KEY_ORDER) fail(`${file} must hold the state secret: 0x followed by 64 hex digits, 1 <= secret < the Grumpkin order`);
  return sk;
}

async function main(): Promise<void> {
  if (process.argv.some((a) => /^--(private-key|key)(=|$)/.test(a))) {
    fail('a key on the command line leaks into shell history and the process list: use DEPLOYER_PRIVATE_KEY, --key-file or --keystore');
  }
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        chain: { type: 'string' },
        'rpc-url': { type: 'string' },
        token: { type: 'string' },
        price: { type: 'string' },
        'ticket-price': { type: 'string' },
        'ttl-days': { type: 'string' },
        'price-unit': { type: 'string' },
        'c-max': { type: 'string' },
        'state-key': { type: 'string' },
        'state-secret-file': { type: 'string' },
        'state-key-delay': { type: 'string' },
        'state-key-grace': { type: 'string' },
        owner: { type: 'string' },
        treasury: { type: 'string' },
        'key-file': { type: 'string' },
        keystore: { type: 'string' },
        'password-file': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const missing = (['chain', 'token', 'price', 'owner', 'treasury'] as const).filter((k) => !values[k]);
  if (missing.length > 0) fail(`missing ${missing.map((k) => `--${k}`).join(', ')}\n${USAGE}`);
  if (!(values.chain! in CHAIN_PRESETS)) fail(`--chain must be one of ${Object.keys(CHAIN_PRESETS).join(', ')}`);
  let ttlDays: number | undefined;
  if (values['ttl-days'] !== undefined) {
    ttlDays = Number(values['ttl-days']);
    if (!/^\d+$/.test(values['ttl-days']) || ttlDays < 1 || ttlDays > MAX_TTL_DAYS) fail(`--ttl-days must be a whole number of days from 1 to ${MAX_TTL_DAYS}`);
  }

  if (values['state-key'] && values['state-secret-file']) fail('give --state-key or --state-secret-file, not both');
  const stateKey = values['state-key'] ? stateKeyFrom(values['state-key']) : values['state-secret-file'] ? { secret: stateSecretFrom(values['state-secret-file']) } : undefined;
  let priceUnit: bigint | undefined;
  if (values['price-unit'] !== undefined) {
    if (!/^[1-9]\d{0,38}$/.test(values['price-unit']) || BigInt(values['price-unit']) >= 1n << 128n) fail('--price-unit must be a whole number of token base units from 1 to 2^128 - 1');
    priceUnit = BigInt(values['price-unit']);
  }
  const cMax = values['c-max'] === undefined ? undefined : wholeNumber(values['c-max'], '--c-max', 1, 2 ** METERED_AMOUNT_BITS - 1);
  const stateKeyDelay = values['state-key-delay'] === undefined ? undefined : wholeNumber(values['state-key-delay'], '--state-key-delay', 3_600, 31_536_000);
  const stateKeyGrace = values['state-key-grace'] === undefined ? undefined : wholeNumber(values['state-key-grace'], '--state-key-grace', 0, 31_536_000);

  const { manifest, manifestPath, generatedStateSecret } = await deployCreditPool({
    chain: values.chain as ChainPresetName,
    rpcUrl: values['rpc-url'],
    token: values.token as `0x${string}` | 'test',
    price: values.price!,
    ticketPrice: values['ticket-price'],
    ttlDays,
    priceUnit,
    cMax,
    stateKey,
    stateKeyDelay,
    stateKeyGrace,
    owner: values.owner as `0x${string}`,
    treasury: values.treasury as `0x${string}`,
    signer: signerFrom(values),
    outDir: values.out,
    log: (line) => console.log(`[deploy] ${line}`),
  });
  let stateSecretFile: string | undefined;
  if (generatedStateSecret !== undefined) {
    // Local chain without a key: the dev secret goes next to the manifest, for the server's ZKC_STATE_KEY_FILE.
    stateSecretFile = manifestPath.replace(/\.json$/, '.state-secret');
    writeFileSync(stateSecretFile, `0x${generatedStateSecret.toString(16).padStart(64, '0')}\n`, { mode: 0o600 });
    console.log(`[deploy] state secret (local chain only): ${stateSecretFile}; give it to the server as ZKC_STATE_KEY_FILE`);
  }
  console.log(JSON.stringify({ event: 'deployed', manifest: manifestPath, chainId: manifest.chainId, creditPool: manifest.creditPool, ...(stateSecretFile ? { stateSecretFile } : {}) }));
}

main().catch((error: unknown) => {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  fail(`${e.shortMessage ?? e.message ?? String(error)}${e.details ? `\n  ${e.details}` : ''}`);
});
