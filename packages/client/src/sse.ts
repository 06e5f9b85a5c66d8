/**
 * OpenAI chat streams (server-sent events): reading the events of an answer, writing them back
 * out as plain SSE, and folding a stream into one `chat.completion` JSON answer (for callers that
 * asked `stream: false` of an E2EE model, which must stream upstream).
 */

/** One `chat.completion.chunk` (only the members this client reads are typed). */
export type ChatChunk = {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: {
    index?: number;
    delta?: { role?: string; content?: string | null; reasoning_content?: string | null; [k: string]: unknown };
    finish_reason?: string | null;
    logprobs?: unknown;
    [k: string]: unknown;
  }[];
  usage?: Record<string, unknown> | null;
  error?: unknown;
  [k: string]: unknown;
};

/** One SSE event's `data` (lines joined), or the end of the stream (`[DONE]`). */
export type SseEvent = { data: string } | { done: true };

/**
 * The `data` of each event of an SSE body, in order; `{ done: true }` for `[DONE]` (nothing is
 * read after it). Comments and other fields are skipped. Ends without `done` if the body ends
 * before `[DONE]`; a transport failure rejects.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const dispatch = (): SseEvent | undefined => {
    if (data.length === 0) return undefined;
    const joined = data.join('\n');
    data = [];
    return joined.trim() === '[DONE]' ? { done: true } : { data: joined };
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, cut).replace(/\r$/, '');
        buffer = buffer.slice(cut + 1);
        if (line === '') {
          const event = dispatch();
          if (event) yield event;
          if (event && 'done' in event) return;
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
      }
    }
    buffer += decoder.decode();
    if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
    const last = dispatch();
    if (last) yield last;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

const encoder = new TextEncoder();

/** One SSE event carrying `value` as JSON. */
export function sseEvent(value: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(value)}\n\n`);
}

export const SSE_DONE = encoder.encode('data: [DONE]\n\n');

/** Folds chunks into what `stream: false` would have answered. */
export class CompletionBuilder {
  #id: string | undefined;
  #created: number | undefined;
  #model: string | undefined;
  #content = '';
  #reasoning = '';
  #finish: string | null = null;
  #usage: Record<string, unknown> | undefined;

  add(chunk: ChatChunk): void {
    this.#id ??= chunk.id;
    this.#created ??= chunk.created;
    this.#model ??= chunk.model;
    const choice = chunk.choices?.[0];
    if (typeof choice?.delta?.content === 'string') this.#content += choice.delta.content;
    if (typeof choice?.delta?.reasoning_content === 'string') this.#reasoning += choice.delta.reasoning_content;
    if (choice?.finish_reason) this.#finish = choice.finish_reason;
    if (chunk.usage) this.#usage = chunk.usage;
  }

  /** The `chat.completion` object. */
  build(fallbackModel: string): Record<string, unknown> {
    return {
      id: this.#id ?? `chatcmpl-zkcredits-${Date.now()}`,
      object: 'chat.completion',
      created: this.#created ?? Math.floor(Date.now() / 1000),
      model: this.#model ?? fallbackModel,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: this.#content, ...(this.#reasoning ? { reasoning_content: this.#reasoning } : {}) },
          logprobs: null,
          finish_reason: this.#finish ?? 'stop',
        },
      ],
      ...(this.#usage ? { usage: this.#usage } : {}),
    };
  }
}
