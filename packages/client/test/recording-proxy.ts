/**
 * A TCP pass-through in front of a server that records every byte in both directions, as it
 * crossed the wire (request lines, headers, bodies, chunked framing): what the server really
 * received from a client, to search for anything it produced earlier.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type RecordingProxy = {
  /** `http://127.0.0.1:<port>`: point the client here instead of at the server. */
  url: string;
  /** Every byte the server received, in arrival order (all connections). */
  received(): Buffer;
  /** Every byte the server sent, in order (all connections). */
  sent(): Buffer;
  /** Positions in `received()` and `sent()` now: the bytes of what follows start there. */
  mark(): { received: number; sent: number };
  close(): Promise<void>;
};

/** Starts a recording proxy to `target` (`http://host:port`). */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const { hostname, port } = new URL(target);
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  let upLength = 0;
  let downLength = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      up.push(Buffer.from(chunk));
      upLength += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down.push(Buffer.from(chunk));
      downLength += chunk.length;
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => Buffer.concat(up),
    sent: () => Buffer.concat(down),
    mark: () => ({ received: upLength, sent: downLength }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
