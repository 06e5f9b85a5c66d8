/**
 * What every command shares: the global options, the output (human or `--json`), the network
 * (checked at start: a configured SOCKS proxy that does not answer stops the command), the
 * unlocked vault under its writer lock (unlocking burns the tickets a process that died left in
 * flight; metered calls in flight stay pending until their states are fetched), and a
 * `ZkCreditsClient` built from the config, paying with a metered account whose lane can pay C_max,
 * else a ticket of an open v2 flat account, else a credit.
 */
import { Vault } from '@zkcredits/core/vault';
import { ClientError, VaultCreditStore, ZkCreditsClient, networkFromEnv, type CreditStore, type Network } from '@zkcredits/client';
import { ensureCrs, nodeProvers } from '@zkcredits/client/node';
import { createSpinner, type Spinner } from 'nanospinner';
import { Home, crsCacheDir, homeDir, type CliConfig } from './home.js';
import { loadVaultKey, readPassphrase } from './secrets.js';
import { FileVaultStorage, VaultLock } from './vault-file.js';

export type GlobalOptions = {
  home?: string;
  json?: boolean;
  socks5?: string;
  crs?: string;
  passphraseFile?: string;
};

/** Human output on stdout (progress on stderr), or one JSON document on stdout with `--json`. */
export class Output {
  constructor(readonly json: boolean) {}

  /** A line for people (nothing in `--json` mode). */
  line(text = ''): void {
    if (!this.json) process.stdout.write(`${text}\n`);
  }

  /** A note on stderr (warnings, hints); shown in both modes. */
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  #held: object | undefined;

  #write(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  }

  /**
   * The command's result in `--json` mode. A failing result (`ok: false`, e.g. a failed
   * attestation's report) is held and written by `failure()` with its error: still one document.
   */
  result(value: unknown): void {
    if (!this.json) return;
    if (value !== null && typeof value === 'object' && (value as { ok?: unknown }).ok === false) this.#held = value;
    else this.#write(value);
  }

  /** The error document in `--json` mode: `{ ok: false, error }`, merged into a held failing result. */
  failure(error: { code: string; message: string; details?: string }): void {
    if (!this.json) return;
    this.#write({ ...this.#held, ok: false, error });
    this.#held = undefined;
  }

  /** Writes a held failing result that no error followed. */
  flush(): void {
    if (this.#held) this.#write(this.#held);
    this.#held = undefined;
  }

  /** A spinner on stderr (silent in `--json` mode). */
  spinner(text: string): Spinner | undefined {
    if (this.json) return undefined;
    return createSpinner(text, { stream: process.stderr }).start();
  }

  /**
   * Spinners for a flow that reports its steps in order (a purchase, an opening): each step ticks
   * the one before off; `last` ends the flow; `fail()` marks the step it stopped in.
   */
  stepper<S extends string>(text: Record<S, string>, last: NoInfer<S>): { onStep(step: S): void; fail(): void } {
    let spin: Spinner | undefined;
    let current: S | undefined;
    return {
      onStep: (step) => {
        if (current) spin?.success({ text: text[current] });
        current = step;
        spin = step === last ? undefined : this.spinner(text[step]);
      },
      fail: () => {
        if (current && current !== last) spin?.error({ text: text[current] });
      },
    };
  }

  /** Runs `task` under a spinner: ✔ with `done` on success, ✖ on failure. */
  async step<T>(text: string, task: () => Promise<T>, done?: (value: T) => string): Promise<T> {
    const spin = this.spinner(text);
    try {
      const value = await task();
      spin?.success({ text: done ? done(value) : text });
      return value;
    } catch (error) {
      spin?.error({ text });
      throw error;
    }
  }
}

export class Context {
  readonly home: Home;
  readonly out: Output;
  #network: Network | undefined;
  #lock: VaultLock | undefined;
  #vault: Vault | undefined;
  #client: ZkCreditsClient | undefined;
  #passphrase: string | undefined;

  constructor(readonly options: GlobalOptions) {
    this.home = new Home(homeDir(options.home));
    this.out = new Output(options.json === true);
  }

  /** The SOCKS setting by precedence: `--socks5`, `ZKC_SOCKS_PROXY`, the config's. */
  socksSetting(config?: CliConfig): string | undefined {
    return this.options.socks5?.trim() || process.env.ZKC_SOCKS_PROXY?.trim() || config?.socks5 || undefined;
  }

  /** The network, checked once: refuses to go on when the configured SOCKS proxy does not answer. */
  async network(config?: CliConfig): Promise<Network> {
    if (!this.#network) {
      const network = networkFromEnv({}, { socks5: this.socksSetting(config) });
      await network.check();
      this.#network = network;
    }
    return this.#network;
  }

  /** Unlocks the vault (keychain or passphrase) under the writer lock, held until `close()`. */
  async vault(config: CliConfig, command: string): Promise<Vault> {
    if (this.#vault) return this.#vault;
    this.#lock ??= await VaultLock.acquire(this.home.lockPath, command);
    const passphrase = await this.passphrase(config);
    this.#vault = await Vault.unlock(new FileVaultStorage(this.home.vaultPath), passphrase);
    return this.#vault;
  }

  /** The vault's passphrase: from the keychain in keychain mode, else asked for. */
  async passphrase(config: CliConfig): Promise<string> {
    this.#passphrase ??= config.keyStorage === 'keychain' ? loadVaultKey(config.vaultId) : await readPassphrase({ passphraseFile: this.options.passphraseFile });
    return this.#passphrase;
  }

  /** The CRS folder: `--crs`, `ZKC_CRS_PATH`, else a checked download cached in the XDG cache dir. */
  async crsPath(config?: CliConfig): Promise<string> {
    const path = this.options.crs ?? process.env.ZKC_CRS_PATH;
    const network = await this.network(config);
    if (path) return ensureCrs({ path, cacheDir: crsCacheDir(), network });
    return this.out.step('Downloading the CRS (checked against its pinned SHA-256)', () =>
      ensureCrs({ cacheDir: crsCacheDir(), network, url: process.env.ZKC_CRS_URL || undefined }),
    );
  }

  /** A client for the configured deployment, paying from the unlocked vault (a ticket of an open account first, else a credit). */
  async client(config: CliConfig, command: string): Promise<ZkCreditsClient> {
    if (this.#client) return this.#client;
    const vault = await this.vault(config, command);
    this.#client = await this.clientOver(config, new VaultCreditStore(vault));
    return this.#client;
  }

  /**
   * A client for the configured deployment over `store`, through the checked network. The caller
   * closes it (e.g. `import` recovering a backup's accounts in a store of their own).
   */
  async clientOver(config: CliConfig, store: CreditStore): Promise<ZkCreditsClient> {
    const network = await this.network(config);
    // One bb backend for credits, tickets and metered calls; the CRS folder is resolved (and checked) on first use.
    let provers: Promise<ReturnType<typeof nodeProvers>> | undefined;
    const shared = () =>
      (provers ??= this.crsPath(config).then(
        (crsPath) => nodeProvers({ crsPath }),
        (error: unknown) => {
          provers = undefined;
          throw error;
        },
      ));
    return new ZkCreditsClient({
      server: config.server,
      store,
      prover: async () => (await shared()).prover(),
      ticketProver: async () => (await shared()).ticketProver(),
      meteredProver: async () => (await shared()).meteredProver(),
      chain: { rpcUrl: config.rpcUrl, fetch: network.chainFetch },
      expect: { chainId: config.chainId, contract: config.contract as `0x${string}` },
      fetch: network.fetch,
      paidFetch: network.paidFetch,
      isolatedFetch: () => network.isolatedFetch(),
    });
  }

  /**
   * A client over the unlocked vault that never touches the network (`balance`): it reads the
   * store only; anything that would send a request fails instead.
   */
  async offlineClient(config: CliConfig, command: string): Promise<ZkCreditsClient> {
    const vault = await this.vault(config, command);
    const refuse = () => new ClientError('server_unavailable', `\`${command}\` reads the vault only and sends nothing.`);
    const offline = async (): Promise<Response> => {
      throw refuse();
    };
    return new ZkCreditsClient({
      server: config.server,
      store: new VaultCreditStore(vault),
      prover: async () => {
        throw refuse();
      },
      chain: { rpcUrl: config.rpcUrl, fetch: offline },
      expect: { chainId: config.chainId, contract: config.contract as `0x${string}` },
      fetch: offline,
    });
  }

  /** Closes the client and the network, locks the vault and releases the lock. */
  async close(): Promise<void> {
    await this.#client?.close().catch(() => {});
    this.#vault?.lock();
    this.#passphrase = undefined;
    await this.#lock?.release();
    await this.#network?.close().catch(() => {});
  }
}
