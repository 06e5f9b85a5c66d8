// @zkcredits/cli as a library: the command line (for embedding and tests), the vault file and its lock.
export { run, buildProgram } from './program.js';
export { EXIT, CliError, exitCodeOf, type CliErrorCode } from './errors.js';
export { FileVaultStorage, VaultLock } from './vault-file.js';
export { Home, homeDir, type CliConfig } from './home.js';
