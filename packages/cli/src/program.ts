/** The `zkcredits` command line: global options, commands, and how errors become exit codes. */
import { Command, CommanderError, Option } from 'commander';
import { attest } from './commands/attest.js';
import { exportBackup, importBackup } from './commands/backup.js';
import { open } from './commands/accounts.js';
import { chat } from './commands/chat.js';
import { balance, buy, sync } from './commands/credits.js';
import { doctor } from './commands/doctor.js';
import { init } from './commands/init.js';
import { serve } from './commands/serve.js';
import { walletKeyDelete, walletKeySet } from './commands/wallet-key.js';
import { Context, type GlobalOptions } from './context.js';
import { EXIT, describeError, exitCodeOf } from './errors.js';

const EXIT_HELP = `
Secrets are never read from the command line: the vault passphrase comes from ZKC_PASSPHRASE,
--passphrase-file or a prompt (or the OS keychain), the wallet key from ZKC_WALLET_KEY,
--wallet-key-file or the keychain.

A v2 account (\`open <n>\`) pays for n calls, one ticket each. A metered account (\`open --metered
--lanes N --deposit <money> --stake <money>\`) pays what each call really costs: a call pre-pays
C_max and the server refunds the rest. chat and serve pay from a metered account first, then with
tickets, then credits. A ticket (or a metered lane position) used for two different requests
publishes the account's secret and with it its past calls: never use one vault's accounts from two
copies at the same time.

Environment: ZKC_HOME, ZKC_PASSPHRASE, ZKC_BACKUP_PASSPHRASE, ZKC_WALLET_KEY, ZKC_SOCKS_PROXY,
ZKC_CRS_PATH, ZKC_CRS_URL.

Exit codes: 0 ok, 1 usage, 2 home/config, 3 vault (passphrase, damaged, keychain, busy),
4 server or chain not the one chosen, 5 network, 6 no credits or calls left, 7 purchase or opening, 8 prover/CRS,
9 attestation/E2EE, 10 rejected by the server, 11 doctor found a problem, 70 internal, 130 interrupted.`;

type Action<A extends unknown[]> = (ctx: Context, ...args: A) => Promise<void>;

/** Builds the program; `run` sets the exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('zkcredits')
    .description('Anonymous pay-per-call LLM access: buy credits on-chain, pay each chat call with a zero-knowledge proof.')
    .option('--home <dir>', 'the zkcredits home (default $ZKC_HOME, else $XDG_CONFIG_HOME/zkcredits or ~/.config/zkcredits)')
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .option('--socks5 <url>', 'send every request through this SOCKS5 proxy, e.g. socks5://127.0.0.1:9050 (default $ZKC_SOCKS_PROXY); never falls back to direct')
    .option('--crs <dir>', 'a local CRS folder (default $ZKC_CRS_PATH, else a checked download)')
    .option('--passphrase-file <file>', 'read the vault passphrase from the first line of this file (default $ZKC_PASSPHRASE, else asked)')
    .addHelpText('after', EXIT_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  function action<A extends unknown[]>(fn: Action<A>) {
    return async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const ctx = new Context(command.optsWithGlobals<GlobalOptions>());
      const params = args.slice(0, -2) as unknown[];
      const local = args[args.length - 2];
      try {
        await fn(ctx, ...([...params, local] as A));
        setExit(EXIT.ok);
      } catch (error) {
        report(ctx, error);
        setExit(exitCodeOf(error));
      } finally {
        ctx.out.flush();
        await ctx.close();
      }
    };
  }

  program
    .command('init')
    .description('choose a server, check it, and create the encrypted vault and the local proxy token')
    .requiredOption('--server <url>', 'the zkcredits server, e.g. https://zkcredits.example')
    .requiredOption('--rpc <url>', 'an RPC of the chain the credits live on (read directly, never through the server)')
    .option('--chain-id <id>', 'the chain you expect (default: the server’s, shown for you to compare)')
    .option('--contract <address>', 'the CreditPool you expect (default: the server’s, shown)')
    .option('--keychain', 'keep a random vault key in the OS keychain (fail if there is none)')
    .option('--no-keychain', 'protect the vault by a passphrase even where a keychain exists')
    .option('--model <id>', 'the default model for `chat`')
    .action(action(init));

  program
    .command('buy')
    .description('buy <n> credits on-chain (credentials saved pending before anything is sent)')
    .argument('<n>', 'how many credits')
    .option('--wallet-key-file <file>', 'the paying wallet’s private key, first line of this file (default $ZKC_WALLET_KEY, else the keychain)')
    .option('--permit', 'pay with one permit-signed transaction instead of approve + buy')
    .action(action(buy));

  program
    .command('open')
    .description('open a v2 account for <n> calls, one ticket each; or, with --metered, one that pays what each call really costs (its secret derives from the vault’s master secret and is saved before anything is sent)')
    .argument('[n]', 'how many calls (flat accounts)')
    .option('--metered', 'a metered account: each call pre-pays C_max from a lane and the server refunds the rest')
    .option('--lanes <n>', 'metered: lanes, i.e. calls that can run at once (1, 2, 4 or 8; default 1)')
    .option('--deposit <money>', 'metered: the usage deposit, a TOTAL in the payment token (e.g. 10), split evenly over the lanes')
    .option('--stake <money>', 'metered: the policy stake, a TOTAL in the payment token (e.g. 1), split evenly over the lanes')
    .option('--wallet-key-file <file>', 'the paying wallet’s private key, first line of this file (default $ZKC_WALLET_KEY, else the keychain)')
    .option('--permit', 'pay with one permit-signed transaction instead of approve + open')
    .option('--yes', 'confirm the warning shown before the vault’s first account (for scripts)')
    .action(action(open));

  const walletKey = program
    .command('wallet-key')
    .description('keep the paying wallet’s key in the OS keychain (the entry `buy` and `open` read), or remove it');
  walletKey
    .command('set')
    .description('store a wallet key in the OS keychain (from --from-file or $ZKC_WALLET_KEY, never the command line); prints its address')
    .option('--from-file <file>', 'read the private key from the first line of this file (default $ZKC_WALLET_KEY)')
    .action(action((ctx, o: { fromFile?: string }) => walletKeySet(ctx, o)));
  walletKey
    .command('delete')
    .description('remove the wallet key from the OS keychain')
    .action(action((ctx) => walletKeyDelete(ctx)));

  program.command('balance').description('credits by status and accounts (calls left, or money and calls at C_max for metered ones; expiry, status), from the vault (no network)').action(action(balance));
  program.command('sync').description('sync the credit tree, check it against the chain, settle pending credits and accounts, and fetch the refunds of metered calls whose answers were lost').action(action(sync));

  program
    .command('export')
    .description('write an encrypted backup (the web app’s format): credits, accounts and the master secret')
    .argument('<file>', 'where to write it (0600; never overwritten without --force)')
    .option('--backup-passphrase-file <file>', 're-encrypt to this passphrase (default $ZKC_BACKUP_PASSPHRASE, else the vault’s; required for a keychain vault)')
    .option('--force', 'replace an existing file')
    .action(action((ctx, file: string, o: { backupPassphraseFile?: string; force?: boolean }) => exportBackup(ctx, file, o)));

  program
    .command('import')
    .description('merge an encrypted backup (from `export` or the web app) into the vault, its accounts recovered first (used tickets downloaded in bulk)')
    .argument('<file>', 'the backup file')
    .option('--backup-passphrase-file <file>', 'the backup’s passphrase (default $ZKC_BACKUP_PASSPHRASE, else the vault’s)')
    .action(action((ctx, file: string, o: { backupPassphraseFile?: string }) => importBackup(ctx, file, o)));

  program
    .command('attest')
    .description('attest a model’s enclave now and print each check')
    .argument('<model>', 'an end-to-end encrypted model, e.g. e2ee-qwen3-5-122b-a10b')
    .action(action((ctx, model: string) => attest(ctx, model)));

  program
    .command('chat')
    .description('chat, paying each message with one proof: a ticket of an open account, else a credit (interactive on a terminal; else one prompt from -m or stdin)')
    .option('--model <id>', 'the model (default: the one set at init, else the server’s first)')
    .option('-m, --message <text>', 'send this one message and print the answer')
    .option('--system <text>', 'a system prompt')
    .option('--max-tokens <n>', 'answer length limit (default: what one call buys)')
    .action(action(chat));

  program
    .command('serve')
    .description('a local OpenAI-compatible proxy: point any OpenAI client at it; each call paid by proof')
    .option('--host <host>', 'listen address (anything but loopback is warned about)', '127.0.0.1')
    .option('--port <port>', 'listen port', '8790')
    .addOption(new Option('--cors <origin...>', 'browser origins allowed to call the proxy (default: none)'))
    .action(action(serve));

  program
    .command('doctor')
    .description('check the server, RPC, CRS, prover, collateral, SOCKS proxy and vault key')
    .option('--model <id>', 'the E2EE model to attest for the collateral check (default: the first)')
    .action(action(doctor));

  for (const sub of [...program.commands, ...walletKey.commands]) sub.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s) });
  return program;
}

/** Prints an error: one line (and details) for people, or `{ ok: false, error }` with --json. Never a stack for expected errors. */
function report(ctx: Context, error: unknown): void {
  const d = describeError(error);
  ctx.out.failure(d);
  process.stderr.write(`zkcredits: ${d.message}\n${d.details ? `  ${d.details.replace(/\n/g, '\n  ')}\n` : ''}`);
  if (d.code === 'internal' && process.env.ZKC_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
}

/** Runs the command line; resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return EXIT.ok;
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}
