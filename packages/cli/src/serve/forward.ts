/**
 * Writing an answer from the client (a WHATWG `Response`) to the local caller: the status, the
 * headers tools use, and the body chunk by chunk with backpressure (a slow reader slows the
 * upstream read; nothing is buffered whole). The caller going away cancels the body, which aborts
 * the upstream call.
 */
import type { ServerResponse } from 'node:http';
import { writeWithBackpressure } from '@zkcredits/core/node';

/** Headers of the client's answer passed on to the caller (lengths and encodings are the proxy's own). */
const PASSED = new Set(['content-type', 'cache-control', 'retry-after', 'x-should-retry', 'x-request-id', 'openai-processing-ms']);

function passes(name: string): boolean {
  return PASSED.has(name) || name.startsWith('x-zkcredits-') || name.startsWith('x-ratelimit-');
}

/**
 * Sends `answer` to `res` with `extra` headers. Resolves once everything was written, or once the
 * caller went away (the body is then cancelled). Never rejects.
 */
export async function forwardResponse(answer: Response, res: ServerResponse, extra: Record<string, string>): Promise<void> {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => {
    if (passes(name)) headers[name] = value;
  });
  Object.assign(headers, extra);
  if ((headers['content-type'] ?? '').startsWith('text/event-stream')) {
    headers['cache-control'] = 'no-cache';
    headers['x-accel-buffering'] = 'no';
  }
  res.writeHead(answer.status, headers);
  res.flushHeaders();
  if (!answer.body) return void res.end();
  const reader = answer.body.getReader();
  try {
    for (;;) {
      if (res.destroyed) break;
      const { done, value } = await reader.read();
      if (done) {
        res.end();
        return;
      }
      if (!(await writeWithBackpressure(res, value))) break;
    }
  } catch {
    // The upstream broke mid-answer: the caller sees a cut connection, as it would from the server.
    res.destroy();
  }
  await reader.cancel().catch(() => undefined);
}
