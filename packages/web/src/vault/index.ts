export { Vault, readBackup, newId } from './vault';
export { countCredits, isActive, mergeRecords, creditRecord, type CreditRecord, type CreditCounts, type CreditStatus } from './record';
export { BACKUP_FORMAT, MAX_BACKUP_BYTES } from './backup';
export { KDF_ITERATIONS } from './crypto';
