/**
 * The CLI's home directory (`--home`, `ZKC_HOME`, else `$XDG_CONFIG_HOME/zkcredits` or
 * `~/.config/zkcredits`) and its `config.json`: the deployment chosen at `init`, the network
 * setting, how the vault is unlocked, and the local proxy's bearer token. The token is a secret
 * (it lets a local process spend credits through `zkcredits serve`) but not a credential; it lives
 * only in this 0600 file. Passphrases, wallet keys and credentials never do.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.js';
import { createFileAtomic, ensurePrivateDir, isErrno, readIfExists, writeFileAtomic } from './files.js';

export const CONFIG_FILE = 'config.json';
export const VAULT_FILE = 'vault.json';
export const LOCK_FILE = 'vault.lock';

/** Where the home is, by precedence: the flag, `ZKC_HOME`, the XDG config dir. */
export function homeDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.ZKC_HOME) return resolve(env.ZKC_HOME);
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'zkcredits');
}

/** Where a downloaded CRS is cached (public data): `$XDG_CACHE_HOME/zkcredits/crs` or `~/.cache/zkcredits/crs`. */
export function crsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'zkcredits', 'crs');
}

const hex = (n: number) => z.string().regex(new RegExp(`^0x[0-9a-fA-F]{${n}}$`));

const configSchema = z.strictObject({
  version: z.literal(1),
  server: z.string().url(),
  chainId: z.number().int().positive(),
  contract: hex(40),
  rpcUrl: z.string().url(),
  /** `socks5://host:port`, or absent for direct connections. */
  socks5: z.string().optional(),
  /** `passphrase`: asked for (or `ZKC_PASSPHRASE`, `--passphrase-file`); `keychain`: a random one in the OS keychain. */
  keyStorage: z.enum(['passphrase', 'keychain']),
  vaultId: z.string().min(1),
  /** The local proxy's bearer token (`zkcredits serve`). */
  proxyToken: z.string().regex(/^zkl_[0-9a-f]{64}$/),
  /** The model `chat` uses when `--model` is not given. */
  defaultModel: z.string().optional(),
  createdAt: z.number(),
});

export type CliConfig = z.infer<typeof configSchema>;

export class Home {
  constructor(readonly dir: string) {}

  get configPath(): string {
    return join(this.dir, CONFIG_FILE);
  }
  get vaultPath(): string {
    return join(this.dir, VAULT_FILE);
  }
  get lockPath(): string {
    return join(this.dir, LOCK_FILE);
  }

  async ensure(): Promise<void> {
    try {
      await ensurePrivateDir(this.dir);
    } catch (cause) {
      if (cause instanceof CliError) throw cause;
      throw new CliError('home_unsafe', `Could not create the zkcredits home ${this.dir}.`, { details: (cause as Error).message, cause });
    }
  }

  /** The config, checked; `not_initialized` when there is none. */
  async readConfig(): Promise<CliConfig> {
    let text: string | undefined;
    try {
      text = await readIfExists(this.configPath);
    } catch (cause) {
      throw new CliError('config_invalid', `Could not read ${this.configPath}.`, { details: (cause as Error).message, cause });
    }
    if (text === undefined) throw new CliError('not_initialized', `No zkcredits home at ${this.dir}. Run \`zkcredits init\` first (or pass --home).`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError('config_invalid', `${this.configPath} is not valid JSON.`, { details: 'Fix it, or move the home aside and run `zkcredits init` again.' });
    }
    const parsed = configSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError('config_invalid', `${this.configPath} is not a valid zkcredits config.`, { details: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : undefined });
    }
    return parsed.data;
  }

  /** Writes the first config; `already_initialized` when one exists. */
  async createConfig(config: CliConfig): Promise<void> {
    try {
      await createFileAtomic(this.configPath, `${JSON.stringify(configSchema.parse(config), null, 2)}\n`);
    } catch (cause) {
      if (isErrno(cause, 'EEXIST')) throw new CliError('already_initialized', `${this.dir} is already initialised.`);
      throw cause;
    }
  }

  async writeConfig(config: CliConfig): Promise<void> {
    await writeFileAtomic(this.configPath, `${JSON.stringify(configSchema.parse(config), null, 2)}\n`);
  }
}
