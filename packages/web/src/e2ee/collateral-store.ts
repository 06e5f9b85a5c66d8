/**
 * DCAP collateral kept between visits in IndexedDB (the worker's `serverCollateralSource`
 * cache). It is public, Intel-signed data; what is read back is checked again by
 * `@zkcredits/attest` and ignored when malformed or expired. Storage failures only cost a
 * fetch.
 */
import type { Collateral, CollateralCache } from '@zkcredits/attest';
import { openDB, type IDBPDatabase } from 'idb';

let db: Promise<IDBPDatabase> | undefined;

function open(): Promise<IDBPDatabase> {
  db ??= openDB('zkcredits-attestation', 1, {
    upgrade(database) {
      database.createObjectStore('collateral');
    },
  });
  return db;
}

export const collateralStore: CollateralCache = {
  async get(key: string): Promise<unknown> {
    try {
      return await (await open()).get('collateral', key);
    } catch {
      return undefined;
    }
  },
  async set(key: string, value: Collateral): Promise<void> {
    try {
      await (await open()).put('collateral', value, key);
    } catch {
      // no storage (private mode, quota): the collateral is fetched again next time
    }
  },
};
