// Replays a Dockerfile without Docker (this machine has no daemon): each stage becomes a folder
// that stands for the container's "/", COPY copies from the build context (honouring
// .dockerignore) or from an earlier stage, WORKDIR/ENV/USER/EXPOSE/CMD are recorded, and RUN
// lines that install npm packages run for real. Other RUN lines (system packages from apt) cannot
// run here; they are returned so the caller can check they are only what it expects.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

export type Instruction = { op: string; args: string; line: number };

export type Stage = { index: number; name: string | undefined; image: string; root: string; workdir: string; env: Record<string, string> };

export type ReplayResult = {
  stages: Stage[];
  /** The last stage: what `docker run` starts. */
  final: Stage & { user: string | undefined; expose: number[]; cmd: string[]; healthcheck: string[] | undefined };
  /** RUN lines that were not executed (not npm). */
  skippedRuns: string[];
  /** Every executed RUN: the command and how long it took. */
  ranRuns: { command: string; ms: number }[];
};

/** Instructions of a Dockerfile: continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue; // a comment inside a continued instruction
      line = `${line.replace(/\s*\\\s*$/, '')} ${next.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse "${line}"`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** `.dockerignore` as a predicate over context-relative POSIX paths (Docker's rules: last match wins, `!` re-includes, a matched folder excludes what is inside). */
export function dockerignore(contextDir: string): (relPath: string) => boolean {
  const file = join(contextDir, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const rules = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: globToRegExp(pattern) };
    });
  return (relPath: string) => {
    const parts = relPath.split('/');
    let excluded = false;
    for (const rule of rules) {
      // The path itself or one of its parent folders.
      let hit = false;
      for (let n = parts.length; n >= 1 && !hit; n--) hit = rule.re.test(parts.slice(0, n).join('/'));
      if (hit) excluded = !rule.negate;
    }
    return excluded;
  };
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (glob.startsWith('**/', i)) {
      re += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function words(args: string): string[] {
  return args.split(/\s+/).filter(Boolean);
}

function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, b: string) => vars[a ?? b] ?? '');
}

/** ENV k=v k2="v 2" (the legacy `ENV k v` form too). */
function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const [k, ...rest] = args.split(/\s+/);
    out[k!] = rest.join(' ');
    return out;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|\S*)/g)) out[m[1]!] = m[3] !== undefined ? m[3] : m[2]!;
  return out;
}

function copyFromContext(contextDir: string, ignored: (rel: string) => boolean, src: string, dest: string): void {
  const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '');
  const from = join(contextDir, rel);
  if (!existsSync(from) || ignored(rel)) throw new Error(`COPY ${src}: not in the build context (missing, or excluded by .dockerignore)`);
  const walk = (relPath: string, to: string) => {
    const abs = join(contextDir, relPath);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      mkdirSync(to, { recursive: true });
      for (const entry of readdirSync(abs)) {
        const child = posix.join(relPath, entry);
        if (!ignored(child)) walk(child, join(to, entry));
      }
    } else {
      mkdirSync(dirname(to), { recursive: true });
      cpSync(abs, to, { dereference: false, preserveTimestamps: true });
    }
  };
  walk(rel, dest);
}

/**
 * Replays `dockerfile` (context: `contextDir`) into folders under `outDir`.
 * @param runEnv environment for executed RUN lines on top of each stage's ENV (PATH, HOME, npm cache).
 */
export function replayDockerfile(options: { dockerfile: string; contextDir: string; outDir: string; runEnv: Record<string, string> }): ReplayResult {
  const instructions = parseDockerfile(readFileSync(options.dockerfile, 'utf8'));
  const ignored = dockerignore(options.contextDir);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  const skippedRuns: string[] = [];
  const ranRuns: { command: string; ms: number }[] = [];
  let stage: Stage | undefined;
  let user: string | undefined;
  let expose: number[] = [];
  let cmd: string[] = [];
  let healthcheck: string[] | undefined;
  const hostPath = (s: Stage, containerPath: string) => join(s.root, posix.resolve(s.workdir, containerPath));

  for (const ins of instructions) {
    const where = `${basename(options.dockerfile)}:${ins.line}`;
    if (ins.op === 'ARG') {
      const [k, v = ''] = ins.args.split('=');
      if (!stage) globalArgs[k!] = v;
      continue;
    }
    if (ins.op === 'FROM') {
      const w = words(substitute(ins.args, globalArgs));
      const name = w[1]?.toUpperCase() === 'AS' ? w[2] : undefined;
      const index = stages.length;
      const root = join(options.outDir, `stage${index}${name ? `-${name}` : ''}`);
      mkdirSync(root, { recursive: true });
      stage = { index, name, image: w[0]!, root, workdir: '/', env: {} };
      stages.push(stage);
      user = undefined;
      expose = [];
      cmd = [];
      healthcheck = undefined;
      continue;
    }
    if (!stage) throw new Error(`${where}: ${ins.op} before FROM`);
    const s: Stage = stage;
    switch (ins.op) {
      case 'WORKDIR':
        s.workdir = posix.resolve(s.workdir, substitute(ins.args, s.env));
        mkdirSync(join(s.root, s.workdir), { recursive: true });
        break;
      case 'ENV':
        Object.assign(s.env, parseEnv(ins.args));
        break;
      case 'COPY': {
        const w = words(ins.args);
        const flags = w.filter((x) => x.startsWith('--'));
        const paths = w.filter((x) => !x.startsWith('--'));
        const dest = paths.pop()!;
        const fromFlag = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const unknown = flags.filter((f) => !/^--(from|chown|chmod|link)=?/.test(f));
        if (unknown.length) throw new Error(`${where}: COPY flag(s) ${unknown.join(' ')} are not replayed; extend test/helpers/dockerfile.ts`);
        if (paths.length > 1 && !dest.endsWith('/')) throw new Error(`${where}: COPY with several sources needs a destination ending in /`);
        for (const src of paths) {
          if (fromFlag !== undefined) {
            const from = stages.find((x) => x.name === fromFlag || String(x.index) === fromFlag);
            if (!from) throw new Error(`${where}: COPY --from=${fromFlag}: no such stage`);
            const abs = join(from.root, posix.resolve('/', src));
            // Hard links: as fast as a layer, and byte-identical.
            if (statSync(abs).isDirectory()) {
              const to = hostPath(s, dest);
              mkdirSync(to, { recursive: true });
              execFileSync('cp', ['-al', `${abs}/.`, to]);
            } else {
              const to = dest.endsWith('/') ? join(hostPath(s, dest), basename(src)) : hostPath(s, dest);
              mkdirSync(dirname(to), { recursive: true });
              execFileSync('cp', ['-al', abs, to]);
            }
          } else {
            const isDir = statSync(join(options.contextDir, src)).isDirectory();
            const to = !isDir && dest.endsWith('/') ? join(hostPath(s, dest), basename(src)) : hostPath(s, dest);
            copyFromContext(options.contextDir, ignored, src, to);
          }
        }
        break;
      }
      case 'RUN': {
        const command = ins.args;
        if (!/^npm\s/.test(command)) {
          skippedRuns.push(command);
          break;
        }
        const started = Date.now();
        const r = spawnSync('bash', ['-c', command], {
          cwd: join(s.root, s.workdir),
          env: { ...options.runEnv, ...s.env },
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (r.status !== 0) throw new Error(`${where}: RUN ${command} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
        ranRuns.push({ command, ms: Date.now() - started });
        break;
      }
      case 'USER':
        user = ins.args;
        break;
      case 'EXPOSE':
        expose = words(ins.args).map((p) => Number(p.split('/')[0]));
        break;
      case 'CMD':
        cmd = JSON.parse(ins.args) as string[];
        break;
      case 'HEALTHCHECK': {
        const m = /CMD\s+(\[.*\])\s*$/.exec(ins.args);
        healthcheck = m ? (JSON.parse(m[1]!) as string[]) : undefined;
        break;
      }
      case 'LABEL':
      case 'SHELL':
      case 'STOPSIGNAL':
        break;
      default:
        throw new Error(`${where}: ${ins.op} is not replayed; extend test/helpers/dockerfile.ts`);
    }
  }
  if (!stage) throw new Error(`${options.dockerfile} has no FROM`);
  return { stages, final: { ...stage, user, expose, cmd, healthcheck }, skippedRuns, ranRuns };
}

/** Build-context paths a Dockerfile COPYs (not `--from` a stage) that are missing or excluded by .dockerignore. */
export function missingContextSources(dockerfile: string, contextDir: string): string[] {
  const ignored = dockerignore(contextDir);
  const missing: string[] = [];
  for (const ins of parseDockerfile(readFileSync(dockerfile, 'utf8'))) {
    if (ins.op !== 'COPY') continue;
    const w = words(ins.args);
    if (w.some((x) => x.startsWith('--from='))) continue;
    const paths = w.filter((x) => !x.startsWith('--'));
    paths.pop();
    for (const src of paths) {
      const rel = posix.normalize(src).replace(/^\/+/, '').replace(/\/+$/, '');
      if (!existsSync(join(contextDir, rel)) || ignored(rel)) missing.push(src);
    }
  }
  return missing;
}
