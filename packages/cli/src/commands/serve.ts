/**
 * `zkcredits serve`: the local OpenAI-compatible proxy (`./serve/proxy.ts`). It holds the vault's
 * writer lock for its whole life, listens on 127.0.0.1 unless `--host` says otherwise (with a
 * warning), and stops gracefully on SIGINT/SIGTERM.
 */
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { startProxy } from '../serve/proxy.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function serve(ctx: Context, options: { host: string; port: string; cors?: string[] }): Promise<void> {
  const port = Number(options.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new CliError('usage', '--port must be 0 to 65535.');
  const config = await ctx.home.readConfig();
  const client = await ctx.client(config, 'serve');
  await ctx.out.step('Checking the server', () => client.checkServer());
  if (!LOOPBACK.has(options.host)) {
    ctx.out.note(`WARNING: listening on ${options.host}, not loopback: other machines can reach the proxy. Only the bearer token stands between them and your credits.`);
  }
  const proxy = await startProxy({ client, token: config.proxyToken, host: options.host, port, ...(options.cors?.length ? { cors: options.cors } : {}) });
  ctx.out.result({ ok: true, url: proxy.url, baseURL: `${proxy.url}/v1`, tokenFile: ctx.home.configPath });
  ctx.out.line(`zkcredits proxy on ${proxy.url}/v1 (each chat completion paid by one proof).`);
  ctx.out.line(`  base URL  ${proxy.url}/v1`);
  ctx.out.line(`  API key   the "proxyToken" in ${ctx.home.configPath}, e.g.`);
  ctx.out.line(`            export OPENAI_BASE_URL=${proxy.url}/v1 OPENAI_API_KEY=$(node -p "require('${ctx.home.configPath}').proxyToken")`);
  ctx.out.line('Ctrl-C stops it.');
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  ctx.out.note('Stopping: finishing requests in flight…');
  await proxy.close();
}
