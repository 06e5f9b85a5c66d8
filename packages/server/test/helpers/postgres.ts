import { randomBytes } from 'node:crypto';
import pg from 'pg';

const ADMIN_URL = process.env.ZKC_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type TestDatabase = { url: string; name: string; drop(): Promise<void> };

/** A fresh, uniquely named database on the machine's PostgreSQL; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `zkc_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
