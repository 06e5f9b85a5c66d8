import type { ServerResponse } from 'node:http';
import type { SimContext } from '../context.js';
import { sendJson } from '../http.js';
import { modelListEntry } from '../models.js';

/** GET /api/v1/models[?type=text|all|…]: the text models (none for other types). */
export function models(ctx: SimContext, url: URL, res: ServerResponse): void {
  const type = url.searchParams.get('type') ?? 'text';
  const data = type === 'text' || type === 'all' ? [...ctx.models.values()].map(modelListEntry) : [];
  sendJson(res, 200, { object: 'list', type, data });
}
