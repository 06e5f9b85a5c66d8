import type { Socket } from 'node:net';
import type { Metrics } from './metrics.js';

/**
 * Open connections of the API listener, and the per-address cap (IPv6: per /64). Only where the
 * server sees the clients themselves: behind a trusted proxy every connection comes from the proxy,
 * which enforces the per-client cap (docs/DEPLOY.md); pass `perAddressCap` undefined there.
 */
export class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  private readonly openPerAddress = new Map<string, number>();

  constructor(
    private readonly perAddressCap: number | undefined,
    private readonly metrics: Metrics,
  ) {}

  get size(): number {
    return this.sockets.size;
  }

  /** The `connection` listener, to run before Node's own: a refused connection never reaches the HTTP parser. */
  readonly onConnection = (socket: Socket): void => {
    if (this.perAddressCap !== undefined) {
      const key = addressKey(socket.remoteAddress);
      const open = (this.openPerAddress.get(key) ?? 0) + 1;
      if (open > this.perAddressCap) {
        // Refused before a byte is read: it holds no parser, no timers, no request.
        this.metrics.connectionsRefused.inc({ reason: 'per_address_cap' });
        socket.destroy();
        return;
      }
      this.openPerAddress.set(key, open);
      socket.once('close', () => {
        const left = (this.openPerAddress.get(key) ?? 1) - 1;
        if (left > 0) this.openPerAddress.set(key, left);
        else this.openPerAddress.delete(key);
      });
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  };

  /** Closes every open connection (past the shutdown grace period). */
  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}

/** The key a connection counts against: the IPv4 address, or the IPv6 /64 (one host's usual allocation). */
export function addressKey(remote: string | undefined): string {
  if (!remote) return '';
  const a = remote.toLowerCase().replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head = '', tail] = a.split('::');
  const groups = (s: string) => (s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${all
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
