import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type UpstreamGate = {
  /** Base URL to give the server as its provider (same path as `target`). */
  url: string;
  /** Chat requests that have arrived (held until `open`). */
  held(): number;
  /** Lets every held and later request through to the provider. */
  open(): void;
  close(): Promise<void>;
};

/**
 * An HTTP hop in front of the provider that holds every chat request until the test opens it,
 * then forwards it and passes the answer back as it comes (other routes pass straight through). A request can be kept in flight for exactly
 * as long as a test needs, whatever the machine's speed.
 */
export async function startUpstreamGate(target: string): Promise<UpstreamGate> {
  let held = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      // Only chat calls wait (the server also reads the provider's model list in the background).
      if (req.url?.endsWith('/chat/completions')) {
        held++;
        await opened;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)) headers[name] = value;
      }
      const base = new URL(target);
      const up = await fetch(`${base.origin}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      const back: Record<string, string> = {};
      up.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(name)) back[name] = value;
      });
      res.writeHead(up.status, back);
      if (up.body) for await (const chunk of up.body) res.write(chunk);
      res.end();
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${new URL(target).pathname}`,
    held: () => held,
    open,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
