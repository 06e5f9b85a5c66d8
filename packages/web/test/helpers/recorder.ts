// A recording TCP proxy: every byte between two parties, both ways, kept for assertions (e.g.
// that a prompt's plaintext never reached the API server). Also a buffer for captured logs.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type Recorder = {
  /** `http://127.0.0.1:<port>`: point a client here instead of the target. */
  url: string;
  /** Everything sent to the target, in order of arrival (all connections). */
  sent(): Buffer;
  /** Everything the target answered. */
  received(): Buffer;
  /** Connections made so far. */
  connections(): number;
  close(): Promise<void>;
};

/** Listens on a free loopback port and forwards each connection to `target` (`http://host:port`). */
export async function startRecordingProxy(target: string): Promise<Recorder> {
  const { hostname, port } = new URL(target);
  const sent: Buffer[] = [];
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((client) => {
    count++;
    const upstream = connect({ host: hostname, port: Number(port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      sent.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      received.push(Buffer.from(chunk));
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    sent: () => Buffer.concat(sent),
    received: () => Buffer.concat(received),
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The forms a text could take in bytes on the wire or in a log: as is, JSON-escaped, URL-encoded. */
export function encodings(text: string): string[] {
  return [...new Set([text, JSON.stringify(text).slice(1, -1), encodeURIComponent(text)])];
}

/** Which of `needles` (any of their encodings) occur in `haystack`. */
export function leaks(haystack: Buffer, needles: string[]): string[] {
  return needles.filter((n) => encodings(n).some((e) => haystack.includes(Buffer.from(e, 'utf8'))));
}
