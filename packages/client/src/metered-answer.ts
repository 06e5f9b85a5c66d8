/**
 * The signed state inside a metered answer, taken out before the caller sees it: the `zkcredits`
 * member of a JSON answer (or error body), or the `event: zkcredits.state` of an SSE stream. The
 * caller gets the answer as an OpenAI server would send it (so OpenAI SDKs never meet the extra
 * member or event); the state goes to `settle`, which checks it and makes it the lane's state.
 *
 * A stream is read to its end in the background whatever the caller does with it (reads slowly,
 * cancels), so the lane is settled as soon as the server has signed.
 */

/** What the wrapper does with the state: `settle` it (rejects when refused), or, when the answer carried none, `release` the lane (it stays pending until asked for). */
export type StateSink = {
  settle(wire: unknown): Promise<void>;
  release(): void;
};

const STATE_EVENT = 'zkcredits.state';
const encoder = new TextEncoder();

/** Headers of the answer passed on, without those that described the original bytes. */
function passHeaders(res: Response): Headers {
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return headers;
}

/**
 * A JSON body's `zkcredits` member, split from the rest. `undefined` state when the body is not a
 * JSON object or has no such member.
 */
export function splitJsonState(text: string): { state: unknown; body: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: undefined, body: text };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json) || !('zkcredits' in json)) return { state: undefined, body: text };
  const { zkcredits, ...rest } = json as Record<string, unknown>;
  return { state: zkcredits, body: JSON.stringify(rest) };
}

/** A 2xx JSON answer without its `zkcredits` member, once the state in it is settled (or the lane released when there is none). */
export async function meteredJsonAnswer(res: Response, sink: StateSink): Promise<Response> {
  let text: string;
  try {
    text = await res.text();
  } catch (error) {
    sink.release();
    throw error;
  }
  const { state, body } = splitJsonState(text);
  if (state === undefined) sink.release();
  else await sink.settle(state);
  return new Response(body, { status: res.status, statusText: res.statusText, headers: passHeaders(res) });
}

/** The `event:` name and the joined `data:` of one SSE event block. */
function parseEvent(block: string): { event: string | undefined; data: string } {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
  return { event, data: data.join('\n') };
}

/**
 * A 2xx SSE answer passed on event by event, byte for byte, except the `zkcredits.state` event,
 * which is settled before anything after it (the `[DONE]`) is passed on. A state the client
 * refuses errors the stream; a stream that ends or breaks without one releases the lane.
 */
export function meteredStreamAnswer(res: Response, sink: StateSink): Response {
  const body = res.body;
  if (!body) {
    sink.release();
    return new Response(null, { status: res.status, statusText: res.statusText, headers: passHeaders(res) });
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let cancelled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const out = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      cancel() {
        // The caller stopped reading: keep reading for the state, pass nothing on.
        cancelled = true;
      },
    },
    { highWaterMark: Number.POSITIVE_INFINITY },
  );
  const pass = (text: string) => {
    if (!cancelled && text) controller.enqueue(encoder.encode(text));
  };
  void (async () => {
    let buffer = '';
    let settled = false;
    const handle = async (block: string, separator: string) => {
      const { event, data } = parseEvent(block);
      if (event !== STATE_EVENT) return pass(block + separator);
      let wire: unknown;
      try {
        wire = JSON.parse(data);
      } catch {
        wire = data;
      }
      settled = true;
      await sink.settle(wire);
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let match: RegExpExecArray | null;
        while ((match = /\r?\n\r?\n/.exec(buffer))) {
          const block = buffer.slice(0, match.index);
          buffer = buffer.slice(match.index + match[0].length);
          await handle(block, match[0]);
        }
      }
      buffer += decoder.decode();
      if (buffer) await handle(buffer, '');
      if (!settled) sink.release();
      if (!cancelled) controller.close();
    } catch (error) {
      if (!settled) sink.release();
      if (!cancelled) controller.error(error);
      await reader.cancel().catch(() => undefined);
    }
  })();
  return new Response(out, { status: res.status, statusText: res.statusText, headers: passHeaders(res) });
}
