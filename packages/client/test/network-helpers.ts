/**
 * Test fixtures for the network layer: a real Debian `microsocks` whose outgoing connections come
 * from 127.0.0.2, a small recording SOCKS5 server, and an HTTP server that records who connected.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** Address microsocks binds its outgoing connections to: the HTTP server can tell them apart. */
export const PROXY_EGRESS = '127.0.0.2';

/** A port nobody listens on right now (the OS picks it). */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Microsocks = { url: string; port: number; pid: number; stop(): Promise<void> };

/** Path of Debian's microsocks; installs it with apt when missing (as scripts/ensure-deps.sh does). */
export function microsocksBinary(): string {
  const which = () => spawnSync('sh', ['-c', 'command -v microsocks'], { encoding: 'utf8' }).stdout.trim();
  let path = which();
  if (!path) {
    spawnSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq microsocks >/dev/null'], { stdio: 'inherit' });
    path = which();
  }
  if (!path) throw new Error('microsocks is not installed: run scripts/ensure-deps.sh (apt-get install microsocks)');
  return path;
}

/**
 * Starts a real microsocks listening on 127.0.0.1 whose outgoing connections are bound to
 * `PROXY_EGRESS` (`-b`). `stop()` kills exactly this process.
 */
export async function startMicrosocks(): Promise<Microsocks> {
  const port = await freeTcpPort();
  const child: ChildProcess = spawn(microsocksBinary(), ['-i', '127.0.0.1', '-p', String(port), '-b', PROXY_EGRESS], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort('127.0.0.1', port);
  return {
    url: `socks5://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export type Recorded = { remoteAddress: string; host: string; url: string; method: string };

export type RecordingHttp = {
  port: number;
  /** Every request, with the address its connection came from. */
  requests: Recorded[];
  /** Address of every TCP connection accepted (also ones that never sent a request). */
  connections: string[];
  close(): Promise<void>;
};

/** An HTTP server on 127.0.0.1 that records each request's peer address, then calls `handler`. */
export async function startRecordingHttp(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RecordingHttp> {
  const requests: Recorded[] = [];
  const connections: string[] = [];
  const server = createHttpServer((req, res) => {
    requests.push({ remoteAddress: req.socket.remoteAddress ?? '', host: req.headers.host ?? '', url: req.url ?? '', method: req.method ?? '' });
    handler(req, res);
  });
  server.on('connection', (s: Socket) => connections.push(s.remoteAddress ?? ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    connections,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

export type SocksConnect = {
  /** RFC 1929 user name, or undefined when "no authentication" was used. */
  username: string | undefined;
  password: string | undefined;
  /** Auth methods the client offered in its greeting. */
  offered: number[];
  /** Address type of the CONNECT: 1 IPv4, 3 domain name, 4 IPv6. */
  atyp: number;
  host: string;
  port: number;
};

export type RecordingSocks = {
  url: string;
  /** Every CONNECT request, in order. */
  connects: SocksConnect[];
  /** Greetings that ended without a CONNECT (e.g. a `check()` probe), with the credentials sent. */
  probes: { username: string | undefined }[];
  close(): Promise<void>;
};

/**
 * A minimal SOCKS5 server (RFC 1928 + RFC 1929) that records what clients send: it picks
 * user/password whenever offered, accepts any credentials, connects to the requested host itself
 * and pipes. Good enough to check what the client asks for; not a proxy for anything else.
 */
export async function startRecordingSocks(): Promise<RecordingSocks> {
  const connects: SocksConnect[] = [];
  const probes: { username: string | undefined }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    let waiting: { n: number; resolve: (b: Buffer) => void } | undefined;
    let ended = false;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      pump();
    };
    const pump = () => {
      if (waiting && buf.length >= waiting.n) {
        const out = buf.subarray(0, waiting.n);
        buf = buf.subarray(waiting.n);
        const w = waiting;
        waiting = undefined;
        w.resolve(out);
      }
    };
    const read = (n: number) => new Promise<Buffer>((resolve, reject) => {
      if (ended) return reject(new Error('ended'));
      waiting = { n, resolve };
      pump();
    });
    client.on('data', onData);
    let username: string | undefined;
    client.on('end', () => {
      ended = true;
    });
    client.on('close', () => {
      if (waiting) {
        waiting = undefined;
        probes.push({ username });
      }
    });
    (async () => {
      const [, nMethods] = await read(2);
      const offered = [...(await read(nMethods!))];
      let password: string | undefined;
      if (offered.includes(0x02)) {
        client.write(Buffer.from([0x05, 0x02]));
        const [, ulen] = await read(2);
        username = (await read(ulen!)).toString('utf8');
        const [plen] = await read(1);
        password = (await read(plen!)).toString('utf8');
        client.write(Buffer.from([0x01, 0x00]));
      } else {
        client.write(Buffer.from([0x05, 0x00]));
      }
      const [, cmd, , atyp] = await read(4);
      let host: string;
      if (atyp === 0x01) host = [...(await read(4))].join('.');
      else if (atyp === 0x03) host = (await read((await read(1))[0]!)).toString('utf8');
      else host = (await read(16)).toString('hex');
      const port = (await read(2)).readUInt16BE(0);
      connects.push({ username, password, offered, atyp: atyp!, host, port });
      if (cmd !== 0x01 || atyp !== 0x03) {
        client.end(Buffer.from([0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
        return;
      }
      client.off('data', onData);
      const upstream = connect({ host, port }, () => {
        client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]));
        if (buf.length) upstream.write(buf);
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
    })().catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `socks5://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connects,
    probes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
