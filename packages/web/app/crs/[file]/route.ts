import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { crsDir } from '@/server/paths';

export const dynamic = 'force-dynamic';

const G1_POINT_BYTES = 64;
const G2_BYTES = 128;
/** Upper bound on what a client may ask for: 2^15 + 1 points (the largest circuit the CRS serves). */
const MAX_POINTS = 2 ** 15 + 1;

function problem(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}

/**
 * Serves the BN254 CRS from the configured folder (never from the repository):
 * `GET /crs/g1?points=N` → the first N G1 points (64 bytes each), `GET /crs/g2` → the G2 point.
 */
export async function GET(request: Request, context: { params: Promise<{ file: string }> }): Promise<Response> {
  const { file } = await context.params;
  const headers = {
    'content-type': 'application/octet-stream',
    'cache-control': 'public, max-age=31536000, immutable',
  };
  try {
    if (file === 'g2') {
      const handle = await open(join(crsDir(), 'bn254_g2.dat'), 'r');
      try {
        const buf = Buffer.alloc(G2_BYTES);
        const { bytesRead } = await handle.read(buf, 0, G2_BYTES, 0);
        if (bytesRead !== G2_BYTES) return problem(500, 'crs_unavailable', 'the G2 point file is truncated');
        return new Response(buf, { headers });
      } finally {
        await handle.close();
      }
    }
    if (file === 'g1') {
      const raw = new URL(request.url).searchParams.get('points') ?? '';
      const points = /^[1-9][0-9]{0,6}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(points) || points > MAX_POINTS) {
        return problem(400, 'invalid_points', `points must be an integer from 1 to ${MAX_POINTS}`);
      }
      const path = join(crsDir(), 'bn254_g1.dat');
      const available = Math.floor((await stat(path)).size / G1_POINT_BYTES);
      if (points > available) {
        return problem(416, 'crs_too_small', `the configured CRS holds ${available} points, ${points} requested`);
      }
      const handle = await open(path, 'r');
      try {
        const buf = Buffer.alloc(points * G1_POINT_BYTES);
        await handle.read(buf, 0, buf.length, 0);
        return new Response(buf, { headers });
      } finally {
        await handle.close();
      }
    }
    return problem(404, 'not_found', 'no such CRS file; use /crs/g1?points=N or /crs/g2');
  } catch {
    return problem(503, 'crs_unavailable', 'the CRS folder is not readable; set CRS_PATH to the folder holding bn254_g1.dat');
  }
}
