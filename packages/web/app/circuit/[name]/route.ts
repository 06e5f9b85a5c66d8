import { readFile } from 'node:fs/promises';
import { circuitFile } from '@/server/paths';

export const dynamic = 'force-dynamic';

const CIRCUITS = new Set(['credit.json']);

/** Serves the compiled circuit from the app's own origin, so proving makes no third-party request. */
export async function GET(_request: Request, context: { params: Promise<{ name: string }> }): Promise<Response> {
  const { name } = await context.params;
  if (!CIRCUITS.has(name)) {
    return Response.json({ error: { code: 'not_found', message: 'unknown circuit' } }, { status: 404 });
  }
  try {
    const text = await readFile(circuitFile(name.replace(/\.json$/, '')), 'utf8');
    return new Response(text, {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    });
  } catch {
    return Response.json(
      { error: { code: 'circuit_unavailable', message: 'compiled circuit not found; run npm run build:circuits' } },
      { status: 503 },
    );
  }
}
