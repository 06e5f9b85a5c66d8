import type { ServerResponse } from 'node:http';

/**
 * Writes one chunk of an HTTP answer with back-pressure: resolves `true` once the socket can take
 * more, `false` if the peer has gone (then stop reading the source). A slow reader thus slows the
 * upstream read and nothing is buffered whole.
 */
export function writeWithBackpressure(res: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
