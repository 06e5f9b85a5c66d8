/**
 * Files of the CLI's home: a directory of mode 0700 whose every file is 0600 and written
 * atomically (a temporary file in the same directory, fsynced, then renamed over the target), so
 * a crash leaves the old file or the new one, never half of either.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { CliError } from './errors.js';

/** Creates `dir` (and its parents) with mode 0700, or tightens an existing one to 0700. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw new CliError('home_unsafe', `${dir} is not a directory.`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new CliError('home_unsafe', `${dir} belongs to another user; zkcredits keeps its files only in a directory of yours.`);
  }
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

async function writeTemp(path: string, data: string | Uint8Array): Promise<string> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx', 0o600);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (error) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
  await file.close();
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  await handle.sync().catch(() => {});
  await handle.close();
}

/** Replaces `path` with `data` atomically; the file is 0600. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDir(dirname(path));
}

/** Creates `path` with `data` atomically, or fails with `EEXIST` when it exists (never overwrites). */
export async function createFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemp(path, data);
  try {
    await link(tmp, path); // atomic, and refuses an existing target
  } finally {
    await rm(tmp, { force: true });
  }
  await syncDir(dirname(path));
}

/** The file's text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}
