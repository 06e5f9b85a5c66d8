export { Vault, readBackup, newId } from './vault';
export { isActive, type CreditRecord, type CreditCounts } from './record';
