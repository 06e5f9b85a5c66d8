// bench/history.jsonl: one line per complete `npm run bench` (every suite, none failed), the
// newest last. README.md's numbers paragraph quotes the last line (see readme.ts).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const HISTORY_PATH = join(ROOT, 'bench/history.jsonl');

const entrySchema = z.object({
  /** When the run ended (ISO 8601, UTC). */
  date: z.iso.datetime(),
  /** `git rev-parse HEAD` of the checkout measured, null outside a git checkout. */
  rev: z.string().regex(/^[0-9a-f]{40}$/).nullable(),
  /** Tracked files differed from `rev` (the numbers are of the work tree, not exactly of `rev`). */
  dirty: z.boolean(),
  /** Logical cores of the machine (`nproc`). */
  cores: z.number().int().positive(),
  cpu: z.string(),
  node: z.string(),
  /** One-minute load average when the run started: other work on the machine skews timings. */
  load1: z.number().nonnegative(),
  /** Every key of every suite. */
  results: z.record(z.string(), z.number()),
});
export type HistoryEntry = z.infer<typeof entrySchema>;

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The machine and checkout a run is measured on (everything of an entry but the results and date). */
export function describeRun(): Omit<HistoryEntry, 'date' | 'results'> {
  const rev = git(['rev-parse', 'HEAD']);
  return {
    rev,
    dirty: rev !== null && git(['status', '--porcelain', '--untracked-files=no']) !== '',
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    load1: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export function appendHistory(entry: HistoryEntry): void {
  appendFileSync(HISTORY_PATH, `${JSON.stringify(entrySchema.parse(entry))}\n`);
}

/** Every entry, oldest first; a line that is not a valid entry throws with its line number. */
export function readHistory(path = HISTORY_PATH): HistoryEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (line.trim() === '') return [];
      const parsed = entrySchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}:${i + 1}: not a bench history entry: ${parsed.error.issues[0]?.message}`);
      return [parsed.data];
    });
}
