// The Docker deployment (docker/), checked without a Docker daemon (none on this machine):
//  - docker/compose.yml renders with docker-compose (Debian's, installed by scripts/ensure-deps.sh)
//    and the environment it gives the server replicas is what loadConfig accepts: PostgreSQL,
//    shared Redis, one trusted proxy hop, 0.0.0.0 on the port the proxy targets, the mounted
//    deployment manifest and CRS; nothing but the proxy publishes a port;
//  - the nginx proxy config passes `nginx -t`;
//  - docker/Dockerfile replayed into a temporary folder (its COPY steps with .dockerignore, its
//    `npm ci`), then its CMD started there as an unprivileged user with that compose environment,
//    against a real Anvil chain with the CreditPool deployed by the deploy command, the Venice
//    simulator and PostgreSQL: it answers /ready with 200, also through nginx (which hides
//    /metrics), and refuses to start without the CRS volume, saying where to get it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CHAT_PATH,
  MerkleTree,
  buildSpendWitness,
  buyCredits,
  credentialCommitment,
  encodeProofPayload,
  generateCredential,
  initPoseidon2,
  requestHash,
  testTokenAbi,
  waitForReceipt,
} from '@zkcredits/core';
import { ANVIL_KEYS, createNodeProver, deployCreditPool, freePort, startAnvil, type Anvil, type DeployCreditPoolResult } from '@zkcredits/core/node';
import { createPublicClient, createWalletClient, http, type PublicClient } from 'viem';
import { foundry } from 'viem/chains';
import { createVeniceSim, type VeniceSim } from '@zkcredits/venice-sim';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { dockerignore, missingContextSources, parseDockerfile, replayDockerfile, type ReplayResult } from './helpers/dockerfile.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKER = join(REPO, 'docker');
const SHARED_CRS = resolve(REPO, '../shared/crs');
const SIM_KEY = 'venice-key-for-the-docker-test';

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** An executable on PATH, or a failure that says how to install it. */
function tool(name: string, install: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).concat('/usr/sbin', '/usr/bin')) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`${name} is not installed: ${install}, or ZKC_NEED_DOCKER_TOOLS=1 bash scripts/ensure-deps.sh (npm test does this)`);
}
const DOCKER_COMPOSE = () => tool('docker-compose', 'apt-get install -y docker-compose');
const NGINX = () => tool('nginx', 'apt-get install -y nginx-light');
const PROMTOOL = () => tool('promtool', 'apt-get install -y --no-install-recommends prometheus');

/** zkc_* metric names the alert rules use (histogram series names reduced to the histogram). */
function alertMetricNames(): string[] {
  const rules = readFileSync(join(DOCKER, 'prometheus/alerts.yml'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  return [...new Set([...rules.matchAll(/\bzkc_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))].sort();
}

type Compose = {
  services: Record<
    string,
    {
      environment?: Record<string, string>;
      volumes?: ({ type: string; source: string; target: string; read_only?: boolean } | string)[];
      ports?: unknown[];
      expose?: string[];
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: { test: string[] };
      deploy?: { replicas?: number };
      init?: boolean;
    }
  >;
};

/** docker/.env.example with `values` filled in; every value must be one the example lists. */
function envFile(values: Record<string, string>): string {
  let text = readFileSync(join(DOCKER, '.env.example'), 'utf8');
  for (const [k, v] of Object.entries(values)) {
    const line = new RegExp(`^#?${k}=.*$`, 'm');
    if (!line.test(text)) throw new Error(`docker/.env.example does not list ${k}`);
    text = text.replace(line, `${k}=${v}`);
  }
  return text;
}

/**
 * Renders docker/compose.yml with docker-compose from a copy of docker/ beside a deployments/
 * folder holding `manifestPath` (the compose file mounts ../deployments/<file>).
 */
function renderCompose(env: string, manifestPath?: string): { status: number | null; stderr: string; config: Compose | undefined; root: string } {
  const root = tempDir('zkc-compose-');
  cpSync(DOCKER, join(root, 'docker'), { recursive: true, filter: (src) => !basename(src).startsWith('.env') });
  mkdirSync(join(root, 'deployments'));
  if (manifestPath) copyFileSync(manifestPath, join(root, 'deployments', basename(manifestPath)));
  writeFileSync(join(root, 'docker/.env'), env);
  const r = spawnSync(DOCKER_COMPOSE(), ['--env-file', join(root, 'docker/.env'), '-f', join(root, 'docker/compose.yml'), 'config'], { encoding: 'utf8', cwd: join(root, 'docker') });
  if (r.status !== 0) return { status: r.status, stderr: r.stderr, config: undefined, root };
  // docker-compose 1.x prints YAML only; read it with the YAML library docker-compose itself uses.
  const json = execFileSync('/usr/bin/python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: r.stdout, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, config: JSON.parse(json) as Compose, root };
}

function bindMounts(service: Compose['services'][string]) {
  return (service.volumes ?? []).filter((v): v is { type: string; source: string; target: string; read_only?: boolean } => typeof v === 'object' && v.type === 'bind');
}

/** A container path → the host path mounted there (or undefined). */
function hostPathOf(service: Compose['services'][string], containerPath: string): string | undefined {
  for (const m of bindMounts(service)) {
    if (containerPath === m.target) return m.source;
    if (containerPath.startsWith(`${m.target}/`)) return join(m.source, containerPath.slice(m.target.length + 1));
  }
  return undefined;
}

/** The proxy's nginx template rendered like the nginx image does (envsubst of the defined variables only). */
function renderNginxTemplate(vars: Record<string, string>): string {
  const text = readFileSync(join(DOCKER, 'nginx/zkcredits.conf.template'), 'utf8');
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (m, name: string) => vars[name] ?? m);
}

/** A self-signed certificate for the two test host names. */
function selfSignedCert(dir: string, names: string[]): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${names[0]}`,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
    '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem'),
  ], { stdio: 'ignore' });
}

/** A full nginx.conf around the rendered site config (the nginx image's own nginx.conf includes conf.d/*.conf in http {}). */
function nginxMainConf(dir: string, site: string, extraMain = ''): string {
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d), { recursive: true, mode: 0o777 });
  writeFileSync(join(dir, 'site.conf'), site);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `${extraMain}worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log stderr warn;\nevents { worker_connections 512; }\n` +
      `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/site.conf;\n}\n`,
  );
  return conf;
}

/** One request to 127.0.0.1:port with the given Host (and SNI, over HTTPS trusting `ca`); a JSON `post` body makes it a POST. */
function viaProxy(port: number, host: string, path: string, ca?: Buffer, post?: unknown): Promise<{ status: number; body: string; location: string | undefined }> {
  return new Promise((resolvePromise, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    };
    const payload = post === undefined ? undefined : JSON.stringify(post);
    const options = {
      host: '127.0.0.1',
      port,
      path,
      method: payload ? 'POST' : 'GET',
      headers: { host, ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}) },
    };
    const req = ca ? httpsRequest({ ...options, servername: host, ca }, onResponse) : httpRequest(options, onResponse);
    req.on('error', reject);
    req.end(payload);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let anvil: Anvil;
let deployment: DeployCreditPoolResult;

beforeAll(async () => {
  DOCKER_COMPOSE(); // fail first, and plainly, when the tool is missing
  anvil = await startAnvil();
  const owner = privateKeyToAccount(ANVIL_KEYS[0]).address;
  // The operator's deploy step (npm run deploy): deploys, checks, writes the manifest.
  deployment = await deployCreditPool({
    chain: 'anvil',
    rpcUrl: anvil.rpcUrl,
    token: 'test',
    price: '0.05',
    owner,
    treasury: owner,
    signer: { privateKey: ANVIL_KEYS[0] },
    outDir: tempDir('zkc-deployments-'),
  });
}, 180_000);

afterAll(async () => {
  await anvil?.stop();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('docker/compose.yml', () => {
  const secrets = { ZKC_UPSTREAM_API_KEY: 'venice-secret-0123456789', POSTGRES_PASSWORD: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718', ZKC_RPC_URL: 'https://base.rpc.example/v2/private-rpc-key' };
  let compose: Compose;
  let tlsDir: string;

  beforeAll(() => {
    tlsDir = tempDir('zkc-tls-');
    const r = renderCompose(
      envFile({
        ...secrets,
        ZKC_DEPLOYMENT_FILE: basename(deployment.manifestPath),
        WEB_RPC_URL: 'https://mainnet.base.org',
        ZKC_MODELS: 'llama-3.3-70b:1024',
        ZKC_CRS_DIR: SHARED_CRS,
        TLS_DIR: tlsDir,
        API_DOMAIN: 'api.zkc.test',
        WEB_DOMAIN: 'app.zkc.test',
      }),
      deployment.manifestPath,
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    compose = r.config!;
  });

  it('gives the server replicas only ZKC_* settings, which loadConfig reads as PostgreSQL, shared Redis, one proxy hop, 0.0.0.0:8787, the mounted manifest and CRS', () => {
    const server = compose.services.server!;
    const env = server.environment!;
    expect(Object.keys(env).filter((k) => !k.startsWith('ZKC_'))).toEqual([]);

    // The manifest and the CRS are read-only binds, and the variables point at them.
    const manifestMount = bindMounts(server).find((m) => m.target === env.ZKC_DEPLOYMENT);
    const crsMount = bindMounts(server).find((m) => m.target === env.ZKC_CRS_PATH);
    expect(manifestMount).toMatchObject({ read_only: true });
    expect(crsMount).toMatchObject({ source: SHARED_CRS, read_only: true });
    expect(readFileSync(manifestMount!.source, 'utf8')).toBe(readFileSync(deployment.manifestPath, 'utf8'));

    // What the process inside the container would see, with the mounted paths mapped to the host.
    const inContainer = { ...env, ZKC_DEPLOYMENT: hostPathOf(server, env.ZKC_DEPLOYMENT!)!, ZKC_CRS_PATH: hostPathOf(server, env.ZKC_CRS_PATH!)! };
    const config = loadConfig(inContainer);
    expect(config.store).toEqual({ kind: 'postgres', databaseUrl: `postgres://zkcredits:${secrets.POSTGRES_PASSWORD}@postgres:5432/zkcredits` });
    expect(config.rateLimitRedis?.url).toBe('redis://redis:6379/0');
    expect(config.trustProxy).toBe(1);
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(8787);
    expect(config.chain).toMatchObject({
      rpcUrl: secrets.ZKC_RPC_URL,
      chainId: deployment.manifest.chainId,
      contract: deployment.manifest.creditPool.toLowerCase(),
      deploymentBlock: deployment.manifest.deploymentBlock,
    });
    expect(config.upstream.apiKey).toBe(secrets.ZKC_UPSTREAM_API_KEY);
    expect(config.models).toMatchObject([{ id: 'llama-3.3-70b', maxTokensPerCredit: 1024 }]);
    expect(config.proofs.crsPath).toBe(SHARED_CRS);
    // Metrics on their own listener, open to the internal network (the port is never published).
    expect(config.metrics).toEqual({ host: '0.0.0.0', port: 9464 });

    // Two replicas that wait for healthy PostgreSQL and Redis.
    expect(server.deploy?.replicas).toBe(2);
    expect(server.init).toBe(true);
    expect(server.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    expect(compose.services.postgres!.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(compose.services.redis!.healthcheck?.test.join(' ')).toContain('ping');
    const pg = compose.services.postgres!.environment!;
    expect(`postgres://${pg.POSTGRES_USER}:${pg.POSTGRES_PASSWORD}@postgres:5432/${pg.POSTGRES_DB}`).toBe(env.ZKC_DATABASE_URL);
  });

  it('lines up the ports: the server listens where the image EXPOSEs, its health check asks, the proxy and the web app connect, and Prometheus scrapes', () => {
    const port = Number(compose.services.server!.environment!.ZKC_PORT);
    const dockerfile = parseDockerfile(readFileSync(join(DOCKER, 'Dockerfile'), 'utf8'));
    expect(dockerfile.filter((i) => i.op === 'EXPOSE').at(-1)?.args).toBe(String(port));
    expect(dockerfile.filter((i) => i.op === 'HEALTHCHECK').at(-1)?.args).toContain('ZKC_PORT');
    const metricsPort = compose.services.server!.environment!.ZKC_METRICS_ADDR!.split(':').pop()!;
    expect(compose.services.server!.expose).toEqual([String(port), metricsPort]);
    expect(dockerfile.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).not.toContain(metricsPort); // `docker run -P` must not publish metrics
    expect(readFileSync(join(DOCKER, 'prometheus/prometheus.yml'), 'utf8')).toContain(`port: ${metricsPort}`);
    expect(compose.services.server!.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${port}/ready`);
    expect(compose.services.proxy!.environment!.API_UPSTREAM).toBe(`server:${port}`);
    expect(compose.services.web!.environment!.ZKC_SERVER_URL).toBe(`http://server:${port}`);
    const webPort = compose.services.web!.expose![0];
    expect(compose.services.proxy!.environment!.WEB_UPSTREAM).toBe(`web:${webPort}`);
  });

  it('publishes only the proxy, and keeps the server secrets out of the web app', () => {
    const published = Object.entries(compose.services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name);
    expect(published).toEqual(['proxy']); // metrics (server:9464) are reachable on the internal network only
    const web = compose.services.web!;
    const webValues = Object.values(web.environment!).join('\n');
    for (const secret of Object.values(secrets)) expect(webValues).not.toContain(secret);
    expect(hostPathOf(web, web.environment!.ZKC_DEPLOYMENT!)).toBeDefined();
    expect(hostPathOf(web, web.environment!.CRS_PATH!)).toBe(SHARED_CRS);
  });

  it('refuses to render until the operator fills in the secrets, naming the variable to set', () => {
    // .env.example as shipped: no Venice key, no database password.
    const r = renderCompose(readFileSync(join(DOCKER, '.env.example'), 'utf8'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/set (ZKC_UPSTREAM_API_KEY|POSTGRES_PASSWORD) in docker\/\.env/);
  });

  it('has Prometheus alert rules and a scrape config that promtool accepts, scraping the replicas on the internal port', () => {
    const dir = tempDir('zkc-prom-');
    const scrape = readFileSync(join(DOCKER, 'prometheus/prometheus.yml'), 'utf8');
    expect(scrape).toContain('names: [server]');
    copyFileSync(join(DOCKER, 'prometheus/alerts.yml'), join(dir, 'alerts.yml'));
    // The container path of the rules file → the copy beside it.
    writeFileSync(join(dir, 'prometheus.yml'), scrape.replace('/etc/prometheus/alerts.yml', 'alerts.yml'));
    const rules = spawnSync(PROMTOOL(), ['check', 'rules', join(dir, 'alerts.yml')], { encoding: 'utf8' });
    expect(rules.stderr + rules.stdout).toContain('SUCCESS');
    expect(rules.status).toBe(0);
    const config = spawnSync(PROMTOOL(), ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
    expect(config.stderr + config.stdout).not.toMatch(/FAILED/);
    expect(config.status).toBe(0);
    expect(compose.services.prometheus!.ports ?? []).toEqual([]);
  });

  it("has a proxy config that nginx accepts (TLS, per-client connection caps, /metrics hidden)", () => {
    const dir = tempDir('zkc-nginx-t-');
    selfSignedCert(dir, ['api.zkc.test', 'app.zkc.test']);
    const proxyEnv = compose.services.proxy!.environment!;
    const site = renderNginxTemplate(proxyEnv).replaceAll('/etc/nginx/tls/', `${dir}/`);
    expect(site).not.toMatch(/\$\{[A-Z_]+\}/); // every template variable is set by compose
    expect(site).toMatch(/limit_conn zkc_conn_per_ip \d+;/);
    expect(site).toMatch(/location = \/metrics \{\s*return 404;/);
    const r = spawnSync(NGINX(), ['-t', '-q', '-e', 'stderr', '-p', dir, '-c', nginxMainConf(dir, site)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('the images\' build context', () => {
  it('holds every file the Dockerfiles COPY, and keeps secrets, local state and installed packages out', () => {
    expect(missingContextSources(join(DOCKER, 'Dockerfile'), REPO)).toEqual([]);
    // docker/web.Dockerfile takes about 10 minutes to replay (next build), so only its sources are checked here.
    expect(missingContextSources(join(DOCKER, 'web.Dockerfile'), REPO)).toEqual([]);
    const ignored = dockerignore(REPO);
    for (const path of ['.git/config', 'node_modules/viem', 'packages/server/node_modules/pg', 'packages/web/.next/BUILD_ID', 'packages/web/.next-test/x', 'docker/.env', 'deployments/8453-0xabc.json', 'zkcredits.sqlite', '.data/x', 'test-artifacts/a.png', 'key.pem']) {
      expect(ignored(path), path).toBe(true);
    }
    for (const path of ['package.json', 'package-lock.json', '.npmrc', 'packages/core/src/index.ts', 'packages/web/app/page.tsx', 'protocol/constants.json']) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

describe('docker/Dockerfile, replayed into a folder and started with its CMD', () => {
  let image: ReplayResult;
  let sim: VeniceSim;
  let db: TestDatabase;
  let serverEnv: Record<string, string>;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    const out = tempDir('zkc-image-');
    chmodSync(out, 0o755); // the server runs as an unprivileged user, like USER node in the image
    // `npm ci --omit=dev` works with this machine's registry: the @foundry-rs platform binaries it
    // lacks are dev dependencies of the root, which the image never installs. better-sqlite3 is
    // compiled from source here (no prebuilt download), which takes most of this step.
    image = replayDockerfile({
      dockerfile: join(DOCKER, 'Dockerfile'),
      contextDir: REPO,
      outDir: out,
      runEnv: { PATH: process.env.PATH!, HOME: process.env.HOME!, npm_config_update_notifier: 'false' },
    });
    sim = await createVeniceSim({ apiKey: SIM_KEY });
    db = await createTestDatabase();

    // The server's environment in compose, with its network peers and mounts mapped to this machine.
    const rendered = renderCompose(
      envFile({
        ZKC_DEPLOYMENT_FILE: basename(deployment.manifestPath),
        ZKC_RPC_URL: anvil.rpcUrl,
        ZKC_UPSTREAM_API_KEY: SIM_KEY,
        POSTGRES_PASSWORD: 'unused',
        ZKC_UPSTREAM_URL: sim.apiBaseUrl,
        ZKC_MODELS: 'llama-3.3-70b:64',
        ZKC_CRS_DIR: SHARED_CRS,
        TLS_DIR: '/nonexistent',
      }),
      deployment.manifestPath,
    );
    expect(rendered.status).toBe(0);
    const server = rendered.config!.services.server!;
    const env = server.environment!;
    serverEnv = {
      ...env,
      ZKC_DEPLOYMENT: hostPathOf(server, env.ZKC_DEPLOYMENT!)!,
      ZKC_CRS_PATH: hostPathOf(server, env.ZKC_CRS_PATH!)!,
      ZKC_DATABASE_URL: db.url, // postgres:5432 in compose
      ZKC_REDIS_URL: process.env.ZKC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', // redis:6379 in compose
      ZKC_PORT: String(await freePort()), // 8787 in its own network namespace; any free port here
      ZKC_METRICS_ADDR: `0.0.0.0:${await freePort()}`, // 0.0.0.0:9464 in compose
    };
    for (const d of [rendered.root, dirname(serverEnv.ZKC_DEPLOYMENT!)]) chmodSync(d, 0o755);
  }, 600_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sim?.close();
    await db?.drop();
  });

  /** The image's CMD in the replayed /app, as `USER` would run it, with the image ENV and `env` only. */
  function runImage(env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null>; listening: Promise<number> } {
    const { final } = image;
    const [cmd, ...args] = final.cmd;
    const unprivileged = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, {
      cwd: join(final.root, final.workdir),
      // Nothing from this test process leaks in: the container sees the image ENV and compose's.
      env: { PATH: process.env.PATH!, HOME: '/nonexistent', ...final.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...unprivileged,
    });
    children.push(child);
    let out = '';
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const listening = new Promise<number>((resolvePromise, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        const m = /\{"event":"listening","url":"[^"]*","port":(\d+)\}/.exec(out);
        if (m) resolvePromise(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`the image's CMD exited with ${code}:\n${out}`)));
    });
    listening.catch(() => {});
    return { child, output: () => out, exited, listening };
  }

  it('copies only what it needs and installs only npm packages; the rest are system build tools', () => {
    expect(image.final.user).toBe('node');
    expect(image.final.cmd).toEqual(['node', '--import', 'tsx', 'packages/server/src/main.ts']);
    expect(image.skippedRuns).toHaveLength(1);
    expect(image.skippedRuns[0]).toMatch(/^apt-get update && apt-get install -y --no-install-recommends python3 make g\+\+ && rm -rf \/var\/lib\/apt\/lists\/\*$/);
    expect(image.ranRuns.map((r) => r.command)).toEqual([expect.stringMatching(/^npm ci /)]);
    const app = join(image.final.root, image.final.workdir);
    expect(existsSync(join(app, 'packages/server/src/main.ts'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/@zkcredits/core'))).toBe(true);
    // No development tools, tests, other packages or local state in the image.
    for (const absent of ['node_modules/@foundry-rs', 'node_modules/vitest', 'packages/web', 'packages/server/test', 'deployments', 'contracts', '.git']) {
      expect(existsSync(join(app, absent)), absent).toBe(false);
    }
  });

  it('answers /ready with 200 on PostgreSQL and Redis with the mounted manifest and CRS, serves a paid call through nginx exactly once, and keeps /metrics off the API', async () => {
    const server = runImage(serverEnv);
    const port = await server.listening;
    const ready = await waitFor('/ready to answer 200', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      return res.status === 200 ? ((await res.json()) as { status: string; problems: string[] }) : undefined;
    });
    expect(ready).toMatchObject({ status: 'ready', problems: [] });
    // Metrics: on their own listener, not on the API port.
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${serverEnv.ZKC_METRICS_ADDR!.split(':').pop()}/metrics`);
    expect(metrics.status).toBe(200);
    const exported = await metrics.text();
    // Every metric the alert rules (docker/prometheus/alerts.yml) use is one the server exports.
    for (const name of alertMetricNames()) expect(exported, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    expect(alertMetricNames().length).toBeGreaterThan(5);
    expect(server.output()).not.toContain(SIM_KEY);

    // nginx in front, configured from the compose proxy service (its ports mapped to free ones).
    const dir = tempDir('zkc-nginx-');
    chmodSync(dir, 0o755);
    selfSignedCert(dir, ['api.zkc.test', 'app.zkc.test']);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const site = renderNginxTemplate({ API_DOMAIN: 'api.zkc.test', WEB_DOMAIN: 'app.zkc.test', API_UPSTREAM: `127.0.0.1:${port}`, WEB_UPSTREAM: '127.0.0.1:9', DNS_RESOLVER: '127.0.0.1' })
      .replaceAll('/etc/nginx/tls/', `${dir}/`)
      .replace(/listen 80\b/g, `listen 127.0.0.1:${httpPort}`)
      .replace(/listen 443\b/g, `listen 127.0.0.1:${httpsPort}`);
    const nginx = spawn(NGINX(), ['-p', dir, '-e', 'stderr', '-c', nginxMainConf(dir, site, 'daemon off;\n')], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(nginx);
    const ca = readFileSync(join(dir, 'fullchain.pem'));
    const proxied = await waitFor('nginx to proxy /ready', async () => {
      const r = await viaProxy(httpsPort, 'api.zkc.test', '/ready', ca);
      return r.status === 200 ? r : undefined;
    });
    expect(JSON.parse(proxied.body)).toMatchObject({ status: 'ready' });
    expect((await viaProxy(httpsPort, 'api.zkc.test', '/metrics', ca)).status).toBe(404);
    const plain = await viaProxy(httpPort, 'api.zkc.test', '/v1/models');
    expect(plain).toMatchObject({ status: 308, location: 'https://api.zkc.test/v1/models' });

    // A paid call end to end: buy a credit on the chain, prove in the client, pay through nginx.
    await initPoseidon2();
    const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
    const buyer = createWalletClient({ chain: foundry, account: privateKeyToAccount(ANVIL_KEYS[1]), transport: http(anvil.rpcUrl), pollingInterval: 50 });
    const pool = deployment.manifest.creditPool;
    const token = deployment.manifest.token.address;
    await waitForReceipt(publicClient, { hash: await buyer.writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [buyer.account.address, 10n ** 12n] }) });
    const credential = generateCredential();
    await buyCredits({ publicClient, walletClient: buyer, pool, commitments: [credentialCommitment(credential)], approve: 'unlimited' });
    await waitFor('the replica to index the purchase', async () => {
      const r = await viaProxy(httpsPort, 'api.zkc.test', '/v1/zkcredits/leaves?from=0&limit=1', ca);
      return r.status === 200 && (JSON.parse(r.body) as { total: number }).total >= 1 ? true : undefined;
    });
    const tree = new MerkleTree();
    tree.insertMany([credentialCommitment(credential)]);
    const body = { model: 'llama-3.3-70b', messages: [{ role: 'user', content: 'hello from the image' }], max_tokens: 16 };
    const prover = await createNodeProver({ crsPath: SHARED_CRS });
    let zkcredits;
    try {
      const rh = requestHash({ chainId: deployment.manifest.chainId, contract: pool, method: 'POST', path: CHAT_PATH, body });
      zkcredits = encodeProofPayload(await prover.prove(buildSpendWitness(credential, tree, rh)));
    } finally {
      await prover.destroy();
    }
    const paid = await viaProxy(httpsPort, 'api.zkc.test', CHAT_PATH, ca, { ...body, zkcredits });
    expect(paid.status, paid.body).toBe(200);
    expect((JSON.parse(paid.body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toContain('hello from the image');
    const again = await viaProxy(httpsPort, 'api.zkc.test', CHAT_PATH, ca, { ...body, zkcredits });
    expect(again.status).toBe(402);
    expect(JSON.parse(again.body)).toMatchObject({ error: { code: 'credit_spent' } });

    nginx.kill('SIGTERM');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses to start without the CRS volume, saying where to get it', async () => {
    // Not mounted: the image's /crs (ZKC_CRS_PATH) does not exist.
    expect(image.final.env.ZKC_CRS_PATH).toBe('/crs');
    const missing = runImage({ ...serverEnv, ZKC_CRS_PATH: join(image.final.root, image.final.env.ZKC_CRS_PATH!) });
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toMatch(/CRS folder .*crs is missing bn254_g1\.dat and bn254_g2\.dat/);
    expect(missing.output()).toContain('aztec-ignition');
    expect(missing.output()).toContain('mount that folder read-only at /crs');
    expect(missing.output()).toContain('docs/DEPLOY.md');
  });

  it('refuses a CRS volume that is not the pinned one', async () => {
    const crs = tempDir('zkc-badcrs-');
    chmodSync(crs, 0o755);
    writeFileSync(join(crs, 'bn254_g1.dat'), readFileSync(join(SHARED_CRS, 'bn254_g1.dat')).subarray(0, 64 * 8193)); // enough for today's circuit, not the pinned 32,769 points
    copyFileSync(join(SHARED_CRS, 'bn254_g2.dat'), join(crs, 'bn254_g2.dat'));
    const short = runImage({ ...serverEnv, ZKC_CRS_PATH: crs });
    expect(await short.exited).toBe(2);
    expect(short.output()).toMatch(/bn254_g1\.dat is truncated: 524352 bytes, at least 2097216 needed/);
  });
});
