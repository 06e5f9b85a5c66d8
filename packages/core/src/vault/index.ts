// @zkcredits/core/vault: the encrypted credential vault and its backup file, independent of where
// the ciphertexts are kept (`VaultStorage`: IndexedDB in the web app, a file in the CLI). A backup
// from one imports in the other.
export { Vault, MIN_PASSPHRASE_LENGTH, type ImportResult, type BackupImportOptions } from './vault.js';
export { MemoryVaultStorage, type VaultStorage, type VaultMeta, type StoredCredit, type StoredAccount, type StoredVault } from './storage.js';
export {
  readBackup,
  readBackupContents,
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BACKUP_VERSIONS,
  MAX_BACKUP_BYTES,
  type BackupFile,
  type BackupContents,
} from './backup.js';
export {
  accountRecord,
  accountStatus,
  journalEntry,
  canMoveAccount,
  parseAccountRecord,
  patchAccount,
  ticketsLeft,
  takeTicketIn,
  settleTicketIn,
  burnJournal,
  fromBackup,
  mergeAccountRecords,
  type AccountRecord,
  type AccountStatus,
  type AccountPatch,
  type JournalEntry,
  type TicketOutcome,
} from './account-record.js';
export {
  meteredAccountRecord,
  meteredLane,
  lanePending,
  storedLaneState,
  laneOpening,
  parseMeteredRecord,
  patchMeteredAccount,
  journalLaneIn,
  commitLaneIn,
  laneStateOf,
  laneStandings,
  lanePosition,
  lanePendingEntry,
  pendingOpening,
  genesisLanes,
  meteredTermsOf,
  meteredFromBackup,
  mergeMeteredRecords,
  type MeteredAccountRecord,
  type MeteredAccountPatch,
  type MeteredLane,
  type LanePending,
  type LaneSignedState,
  type LaneStanding,
  type StoredLaneState,
  type StoredLaneOpening,
} from './metered-record.js';
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
