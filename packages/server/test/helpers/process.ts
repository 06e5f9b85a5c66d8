import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');

export type ServerProcess = { url: string; pid: number; child: ChildProcess; output(): string; exited: Promise<number | null>; kill(signal?: NodeJS.Signals): void };

/** Runs the real entry point (`src/main.ts`) in its own process; resolves once it listens. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env, ZKC_PORT: env.ZKC_PORT ?? '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', kill);
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), timeoutMs);
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(line) as { event?: string; url?: string };
          if (j.event === 'listening' && j.url) {
            clearTimeout(timer);
            resolve(j.url);
          }
        } catch {
          /* a log line */
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    child,
    output: () => out,
    exited,
    kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/**
 * Pids of the running processes whose parent is `pid`, whose command is `comm` and whose arguments
 * include `arg` (when given), from Linux /proc.
 */
export function childProcesses(pid: number, comm: string, arg?: RegExp): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid …": comm may hold spaces, so split after its closing parenthesis.
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (name !== comm || Number(ppid) !== pid || state === 'Z') continue;
    if (arg && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').some((a) => arg.test(a))) continue;
    out.push(Number(entry));
  }
  return out;
}

/** True while `pid` exists (a zombie counts: its parent has not reaped it yet). */
export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
