/**
 * `zkcredits chat`: one prompt (`-m`, or stdin when it is not a terminal) or an interactive
 * conversation on a terminal; each answer streams, each message is paid by one proof: a ticket of an
 * open v2 account when there is one, else a credit (the SDK chooses). Models the server marks E2EE
 * are end-to-end encrypted (the client attests the enclave first; fails closed).
 */
import { createInterface } from 'node:readline/promises';
import { ClientError, type ZkCreditsClient } from '@zkcredits/client';
import { isZkCreditsError } from '@zkcredits/core/errors';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';

type Message = { role: 'system' | 'user' | 'assistant'; content: string };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** Server-sent events of an OpenAI stream: each `data:` payload that is JSON. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, at);
      buffer = buffer.slice(at).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data || data === '[DONE]') continue;
      try {
        yield JSON.parse(data) as Record<string, unknown>;
      } catch {
        // not JSON: skip
      }
    }
  }
}

/**
 * Sends the conversation, streams the answer through `onText`, returns it. A spinner (stderr, not in
 * `--json`) covers the sync, the proof and the wait for the first byte.
 */
async function ask(
  ctx: Context,
  client: ZkCreditsClient,
  model: string,
  messages: Message[],
  maxTokens: number | undefined,
  onText: (t: string) => void,
): Promise<{ content: string; finishReason: string | null }> {
  const spin = ctx.out.spinner('Syncing, proving and paying (one ticket or credit)');
  let res: Response;
  try {
    res = await client.chat({ model, messages, stream: true, ...(maxTokens ? { max_tokens: maxTokens } : {}) });
  } finally {
    spin?.clear();
    spin?.stop();
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string; code?: string } };
    throw new ClientError('server_rejected', body.error?.message ?? `The server answered HTTP ${res.status}.`, {
      status: res.status,
      ...(body.error?.code ? { serverCode: body.error.code, details: body.error.code } : {}),
    });
  }
  let content = '';
  let finishReason: string | null = null;
  for await (const event of sseEvents(res.body)) {
    const choice = (event.choices as { delta?: { content?: string }; finish_reason?: string | null }[] | undefined)?.[0];
    const text = choice?.delta?.content;
    if (text) {
      content += text;
      onText(text);
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
  }
  return { content, finishReason };
}

export async function chat(ctx: Context, options: { model?: string; message?: string; system?: string; maxTokens?: string }): Promise<void> {
  const config = await ctx.home.readConfig();
  const maxTokens = options.maxTokens === undefined ? undefined : Number(options.maxTokens);
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 1)) throw new CliError('usage', '--max-tokens must be a positive integer.');
  const client = await ctx.client(config, 'chat');
  await ctx.out.step('Checking the server', () => client.checkServer());
  const models = await client.models();
  const model = options.model ?? config.defaultModel ?? models.find((m) => m.e2ee !== null)?.id ?? models[0]?.id;
  if (!model) throw new CliError('usage', 'The server lists no model; pass --model.');
  const info = models.find((m) => m.id === model);
  const limit = maxTokens ?? info?.maxTokensPerCredit;
  const history: Message[] = options.system ? [{ role: 'system', content: options.system }] : [];

  const oneShot = options.message ?? (process.stdin.isTTY ? undefined : await readStdin());
  if (oneShot !== undefined) {
    if (oneShot === '') throw new CliError('usage', 'Nothing to send: the message is empty.');
    history.push({ role: 'user', content: oneShot });
    const answer = await ask(ctx, client, model, history, limit, (t) => {
      if (!ctx.out.json) process.stdout.write(t);
    });
    ctx.out.line();
    ctx.out.result({ ok: true, model, e2ee: info?.e2ee ?? false, content: answer.content, finish_reason: answer.finishReason });
    return;
  }

  // Interactive: one ticket or credit per message; Ctrl-D or /exit ends.
  ctx.out.note(`Chatting with ${model}${info?.e2ee ? ' (end-to-end encrypted)' : ''}. One ticket or credit per message. /exit or Ctrl-D to quit.`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  try {
    for (;;) {
      let line: string;
      try {
        line = (await rl.question('> ')).trim();
      } catch {
        break; // closed (Ctrl-D)
      }
      if (line === '/exit' || line === '/quit') break;
      if (line === '') continue;
      history.push({ role: 'user', content: line });
      try {
        const answer = await ask(ctx, client, model, history, limit, (t) => process.stdout.write(t));
        process.stdout.write('\n');
        history.push({ role: 'assistant', content: answer.content });
      } catch (error) {
        history.pop();
        // The session goes on (send the message again); running out of tickets and credits ends it.
        if (isZkCreditsError(error, 'no_credits')) throw error;
        ctx.out.note(`That message failed: ${error instanceof Error ? (error as { shortMessage?: string }).shortMessage ?? error.message.split('\n')[0] : String(error)}`);
      }
    }
  } finally {
    rl.close();
  }
}
