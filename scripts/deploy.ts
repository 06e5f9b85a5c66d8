// `npm run deploy -- --chain base --token 0x… --price 0.05 [--ticket-price 0.05 --ttl-days 365] --owner 0x… --treasury 0x…`
// Deploys CreditPool, checks it, and writes deployments/<chainId>-<address>.json, the manifest the
// server (ZKC_DEPLOYMENT), the web app and clients read. docs/DEPLOY.md walks through it.
//
// The deploy key never goes on the command line (shell history, process list). Give exactly one of:
//   DEPLOYER_PRIVATE_KEY=0x…            in the environment
//   --key-file PATH                     a file holding the 0x… key (mode 600)
//   --keystore PATH --password-file P   a Foundry keystore (cast wallet import NAME --interactive)
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CHAIN_PRESETS, type ChainPresetName } from '../packages/core/src/chains.js';
import { DEFAULT_TTL_DAYS } from '../packages/core/src/deploy.js';
import { MAX_TTL_DAYS } from '../packages/core/src/generated/constants.js';
import { deployCreditPool, type DeploySigner } from '../packages/core/src/node/deploy-pool.js';

const USAGE = `usage: npm run deploy -- --chain ${Object.keys(CHAIN_PRESETS).join('|')} --token <0x…|test> --price <amount> --owner <0x…> --treasury <0x…>
                         [--ticket-price <amount>] [--ttl-days <days>]
                         [--rpc-url URL] [--key-file PATH | --keystore PATH --password-file PATH] [--out DIR]
  --price        price of one credit in token units, e.g. 0.05 (the token's decimals are read from the chain)
  --ticket-price price of one call from a v2 flat account, in token units (default: --price)
  --ttl-days     lifetime of a v2 flat account in days, 1..${MAX_TTL_DAYS}, fixed for the deployment (default ${DEFAULT_TTL_DAYS});
                 servers keep every ticket that long (plus a grace period)
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

  const { manifest, manifestPath } = await deployCreditPool({
    chain: values.chain as ChainPresetName,
    rpcUrl: values['rpc-url'],
    token: values.token as `0x${string}` | 'test',
    price: values.price!,
    ticketPrice: values['ticket-price'],
    ttlDays,
    owner: values.owner as `0x${string}`,
    treasury: values.treasury as `0x${string}`,
    signer: signerFrom(values),
    outDir: values.out,
    log: (line) => console.log(`[deploy] ${line}`),
  });
  console.log(JSON.stringify({ event: 'deployed', manifest: manifestPath, chainId: manifest.chainId, creditPool: manifest.creditPool }));
}

main().catch((error: unknown) => {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  fail(`${e.shortMessage ?? e.message ?? String(error)}${e.details ? `\n  ${e.details}` : ''}`);
});
