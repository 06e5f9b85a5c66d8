// @zkcredits/core/vault: the encrypted credential vault and its backup file, independent of where
// the ciphertexts are kept (`VaultStorage`: IndexedDB in the web app, a file in the CLI). A backup
// from one imports in the other.
export { Vault, MIN_PASSPHRASE_LENGTH } from './vault.js';
export { MemoryVaultStorage, type VaultStorage, type VaultMeta, type StoredCredit, type StoredVault } from './storage.js';
export { readBackup, BACKUP_FORMAT, BACKUP_VERSION, MAX_BACKUP_BYTES, type BackupFile } from './backup.js';
export {
  creditRecord,
  creditStatus,
  isActive,
  type CreditRecord,
  type CreditStatus,
  type CreditPatch,
  type CreditCounts,
} from './record.js';
export { generateSecrets } from './generate.js';
export { newId, KDF_ITERATIONS, KDF_MIN_ITERATIONS, KDF_MAX_ITERATIONS, type KdfParams, type Sealed } from './crypto.js';
export { VaultError, type VaultErrorCode } from '../errors.js';
