// This browser's vault: core's vault format over IndexedDB (./indexeddb), with the app's errors (./vault).
export { Vault, readBackup } from './vault';
export { isActive, newId, generateSecrets, type CreditRecord, type CreditCounts, type AccountRecord } from '@zkcredits/core/vault';
