// `npm run pack [-- --out DIR] [name ...]`: builds the publishable packages to JavaScript with
// `.d.ts` and packs each into DIR (default .pack/) with `npm pack`, ready for `npm publish <tgz>`.
//
// In the repository every package exports its TypeScript sources (tsx, vitest and Next run
// them) and stays `"private": true`, so `npm publish` from a workspace folder is refused. This
// script stages a publishable copy of each one instead (DIR/stage/<name>):
//  - `tsc` compiles `src/` (tests and test-only folders left out) to `dist/` as ES modules with
//    declarations, from a config generated here on top of tsconfig.base.json;
//  - other files under `src/` (JSON, WASM, …) are copied beside the JavaScript;
//  - `package.json` gets `exports` with `types` + `import` + `default` for each source export
//    (minus the test-only ones), the `bin` entries, the workspace's exact dependency versions
//    (`@zkcredits/*` pinned to the same release) and `files`; README.md and LICENSE are copied.
// Imports of another `@zkcredits/*` package compile against that package's staged `.d.ts`
// (tsc `paths`), so packages are built in dependency order.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

type Publishable = {
  /** Workspace folder. */
  dir: string;
  /** Source folders (under the package) that are test-only: neither compiled nor exported. */
  testOnly?: string[];
  /**
   * The source of each command whose workspace `bin` is not a source file (e.g. a shim that runs
   * the TypeScript with tsx): `{ zkcredits: './src/main.ts' }`. The published `bin` is its JavaScript.
   */
  bin?: Record<string, string>;
};

/** What is published, in dependency order. Adding a package is one line. */
const PUBLISHABLE: Publishable[] = [
  { dir: 'packages/core' },
  { dir: 'packages/attest', testOnly: ['src/testing'] },
  { dir: 'packages/client' },
  // Its workspace bin is a shim that runs the sources with tsx (bin/zkcredits.mjs).
  { dir: 'packages/cli', bin: { zkcredits: './src/main.ts' } },
];

type Manifest = {
  name: string;
  version: string;
  description?: string;
  license?: string;
  exports?: Record<string, string>;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
};

type ExportTarget = { types: string; import: string; default: string };

/** `./src/x/index.ts` → `./dist/x/index` (no extension), or undefined for a non-source path. */
function distBase(sourcePath: string): string | undefined {
  const m = /^\.\/src\/(.+)\.(ts|mts|tsx)$/.exec(sourcePath);
  return m ? `./dist/${m[1]}` : undefined;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest;
}

/** A workspace with real sources to build (a skeleton's `export {}` index does not count). */
function hasSources(dir: string): boolean {
  const src = join(root, dir, 'src');
  if (!existsSync(join(root, dir, 'package.json')) || !existsSync(src)) return false;
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
  return files.some((f) => !/^\s*(\/\/.*\n|\s)*export \{\};?\s*$/.test(readFileSync(join(src, f), 'utf8')));
}

function isTestOnly(pkg: Publishable, sourcePath: string): boolean {
  return (pkg.testOnly ?? []).some((d) => sourcePath === `./${d}` || sourcePath.startsWith(`./${d}/`));
}

/** The publish manifest: exports/bin pointed at dist, test-only exports dropped, versions pinned. */
export function publishManifest(pkg: Publishable, manifest: Manifest, versions: Map<string, string>): Record<string, unknown> {
  const exports: Record<string, ExportTarget> = {};
  for (const [sub, target] of Object.entries(manifest.exports ?? {})) {
    if (isTestOnly(pkg, target)) continue;
    const base = distBase(target);
    if (!base) throw new Error(`${manifest.name}: export ${sub} → ${target} is not a source file under ./src`);
    exports[sub] = { types: `${base}.d.ts`, import: `${base}.js`, default: `${base}.js` };
  }
  let bin: Record<string, string> | undefined;
  if (manifest.bin !== undefined) {
    const entries = typeof manifest.bin === 'string' ? { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin } : manifest.bin;
    bin = Object.fromEntries(
      Object.entries(entries).map(([name, target]) => {
        const base = distBase(pkg.bin?.[name] ?? target);
        if (!base) {
          throw new Error(
            `${manifest.name}: bin ${name} → ${target} is not a source file under ./src; ` +
              `name its source in scripts/pack.ts (PUBLISHABLE: { dir: '${pkg.dir}', bin: { ${name}: './src/….ts' } })`,
          );
        }
        return [name, `${base}.js`];
      }),
    );
  }
  const dependencies = Object.fromEntries(
    Object.entries(manifest.dependencies ?? {}).map(([name, range]) => {
      const own = versions.get(name);
      if (own !== undefined) return [name, own];
      if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(range)) throw new Error(`${manifest.name}: dependency ${name}@${range} is not an exact version`);
      return [name, range];
    }),
  );
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: Record<string, string> };
  return {
    name: manifest.name,
    version: manifest.version,
    ...(manifest.description ? { description: manifest.description } : {}),
    license: manifest.license ?? 'MIT',
    type: 'module',
    exports,
    ...(bin ? { bin } : {}),
    files: ['dist', 'README.md', 'LICENSE'],
    engines: rootManifest.engines ?? { node: '>=20.19' },
    dependencies,
  };
}

/** Every `types` file of the staged packages built so far, for tsc `paths`. */
function pathsFor(staged: Map<string, { dir: string; manifest: Record<string, unknown> }>): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const [name, { dir, manifest }] of staged) {
    for (const [sub, target] of Object.entries(manifest.exports as Record<string, ExportTarget>)) {
      paths[sub === '.' ? name : `${name}/${sub.slice(2)}`] = [join(dir, target.types)];
    }
  }
  return paths;
}

function compile(pkg: Publishable, stage: string, paths: Record<string, string[]>): void {
  const pkgDir = join(root, pkg.dir);
  const config = {
    extends: join(root, 'tsconfig.base.json'),
    compilerOptions: {
      rootDir: join(pkgDir, 'src'),
      outDir: join(stage, 'dist'),
      declaration: true,
      noEmit: false,
      emitDeclarationOnly: false,
      composite: false,
      incremental: false,
      sourceMap: false,
      paths,
    },
    include: [join(pkgDir, 'src')],
    exclude: (pkg.testOnly ?? []).map((d) => join(pkgDir, d)),
  };
  const configPath = join(dirname(stage), `tsconfig.${basename(stage)}.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', configPath], { cwd: root, encoding: 'utf8' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`pack: tsc failed for ${pkg.dir}:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
  }
}

/** Non-TypeScript files under src (JSON, WASM, …), which code may load at run time. */
function copyAssets(pkg: Publishable, stage: string, rel = ''): void {
  const from = join(root, pkg.dir, 'src', rel);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const file = rel ? `${rel}/${entry.name}` : entry.name;
    if (isTestOnly(pkg, `./src/${file}`)) continue;
    if (entry.isDirectory()) copyAssets(pkg, stage, file);
    else if (!/\.(ts|tsx|mts)$/.test(entry.name)) {
      mkdirSync(dirname(join(stage, 'dist', file)), { recursive: true });
      copyFileSync(join(from, entry.name), join(stage, 'dist', file));
    }
  }
}

export type PackResult = { name: string; version: string; tarball: string };

/** Builds and packs the publishable packages (all with sources, or those named) into `out`. */
export function pack(options: { out?: string; only?: string[] } = {}): PackResult[] {
  const out = resolve(options.out ?? join(root, '.pack'));
  const stageRoot = join(out, 'stage');
  // The staged declarations import third-party types (zod, viem, …): a link to the repository's
  // node_modules lets tsc resolve them wherever `out` is. Only tsc uses it; it is gone afterwards.
  const modules = join(stageRoot, 'node_modules');
  rmSync(modules, { force: true });
  rmSync(stageRoot, { recursive: true, force: true });
  mkdirSync(stageRoot, { recursive: true });
  symlinkSync(join(root, 'node_modules'), modules, 'dir');
  try {
    return packStaged(stageRoot, out, options.only);
  } finally {
    rmSync(modules, { force: true });
  }
}

function packStaged(stageRoot: string, out: string, only: string[] | undefined): PackResult[] {

  const present = PUBLISHABLE.filter((p) => hasSources(p.dir));
  const versions = new Map(present.map((p) => [readManifest(p.dir).name, readManifest(p.dir).version]));
  // Those named, with the `@zkcredits/*` packages they depend on (built first, not packed).
  const needed = new Set(only ?? versions.keys());
  for (const pkg of [...present].reverse()) {
    const m = readManifest(pkg.dir);
    if (needed.has(m.name)) for (const dep of Object.keys(m.dependencies ?? {})) if (versions.has(dep)) needed.add(dep);
  }
  const staged = new Map<string, { dir: string; manifest: Record<string, unknown> }>();
  const results: PackResult[] = [];
  for (const pkg of present) {
    const manifest = readManifest(pkg.dir);
    if (!needed.has(manifest.name)) continue;
    const stage = join(stageRoot, manifest.name.replace(/^@[^/]+\//, ''));
    const publish = publishManifest(pkg, manifest, versions);
    const started = Date.now();
    compile(pkg, stage, pathsFor(staged));
    copyAssets(pkg, stage);
    for (const file of Object.values((publish.bin ?? {}) as Record<string, string>)) {
      const text = readFileSync(join(stage, file), 'utf8');
      if (!text.startsWith('#!')) writeFileSync(join(stage, file), `#!/usr/bin/env node\n${text}`);
    }
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(publish, null, 2)}\n`);
    for (const [from, to] of [
      [join(root, pkg.dir, 'README.md'), 'README.md'],
      [join(root, 'LICENSE'), 'LICENSE'],
    ] as const) {
      if (existsSync(from)) cpSync(from, join(stage, to));
    }
    for (const types of Object.values(publish.exports as Record<string, ExportTarget>).flatMap((t) => [t.types, t.import])) {
      if (!existsSync(join(stage, types))) throw new Error(`${manifest.name}: ${types} was not built`);
    }
    staged.set(manifest.name, { dir: stage, manifest: publish });
    if (only && !only.includes(manifest.name)) continue;
    const json = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: stage, encoding: 'utf8' });
    const [info] = JSON.parse(json) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
    const tarball = join(out, info!.filename);
    console.log(
      `pack: ${manifest.name}@${manifest.version} → ${relative(process.cwd(), tarball).startsWith('..') ? tarball : relative(process.cwd(), tarball)} ` +
        `(${info!.entryCount} files, ${(info!.size / 1024).toFixed(0)} kB packed, ${(info!.unpackedSize / 1024).toFixed(0)} kB unpacked, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
    results.push({ name: manifest.name, version: manifest.version, tarball });
  }
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  const only = args.filter((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1));
  try {
    pack({ out, only: only.length > 0 ? only : undefined });
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
