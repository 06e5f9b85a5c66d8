import { serverUrl } from '@/config';
import { FORWARD_REQUEST, FORWARD_RESPONSE } from '@/server/forward';

export const dynamic = 'force-dynamic';

/**
 * v1's API, and v2's public routes: ticket config, the bulk list of spent tickets, and the signed
 * state of one metered call (asked only for the call this browser just made).
 */
const PATH = /^(v1\/[A-Za-z0-9._\-/]{1,200}|v2\/zkcredits\/(config|spent|state\/0x[0-9a-f]{64}))$/;

/**
 * Same-origin pass-through to the zkcredits API server (ZKC_SERVER_URL), so the page stays
 * cross-origin isolated and never talks to another origin. Responses stream through unchanged.
 * It never logs or inspects bodies (prompts and answers, end-to-end encrypted or not).
 */
async function proxy(request: Request, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const { path } = await context.params;
  const joined = path.join('/');
  if (!PATH.test(joined) || joined.includes('..')) {
    return Response.json({ error: { code: 'not_found', message: 'No such API route.' } }, { status: 404 });
  }
  const target = `${serverUrl()}/${joined}${new URL(request.url).search}`;
  const headers = new Headers();
  for (const name of FORWARD_REQUEST) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.arrayBuffer(),
      signal: request.signal,
      redirect: 'manual',
    });
  } catch {
    return Response.json(
      { error: { code: 'server_unavailable', message: 'The zkcredits server is not reachable. Your credit was not spent; try again shortly.' } },
      { status: 502 },
    );
  }
  const out = new Headers();
  for (const name of FORWARD_RESPONSE) {
    const value = upstream.headers.get(name);
    if (value) out.set(name, value);
  }
  out.set('x-accel-buffering', 'no');
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

export { proxy as GET, proxy as POST };
