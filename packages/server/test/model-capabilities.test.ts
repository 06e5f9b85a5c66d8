// ModelCapabilityCatalogue: what the provider's model list says each allow-listed model can do,
// refreshed in the background, unknown (never guessed) while the provider cannot be read.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { CAPABILITIES_REFRESH_MS, CAPABILITIES_RETRY_MS, ModelCapabilityCatalogue } from '../src/upstream/model-capabilities.js';
import type { Upstream } from '../src/upstream/venice.js';

const list = (caps: Record<string, { supportsE2EE?: unknown; supportsTeeAttestation?: unknown }>) =>
  Buffer.from(JSON.stringify({ object: 'list', data: Object.entries(caps).map(([id, capabilities]) => ({ id, model_spec: { capabilities } })) }));

function fakeUpstream(answer: () => { status: number; body: Buffer } | Error) {
  let calls = 0;
  const upstream = {
    async models() {
      calls++;
      const a = answer();
      if (a instanceof Error) throw a;
      return { status: a.status, headers: new Headers(), body: a.body };
    },
  } as unknown as Upstream;
  return { upstream, calls: () => calls };
}

const logger = createLogger({ level: 'silent' });

describe('ModelCapabilityCatalogue', () => {
  it("reads supportsE2EE / supportsTeeAttestation for allow-listed ids (suffixes included), false for models the provider does not list", async () => {
    const up = fakeUpstream(() => ({
      status: 200,
      body: list({ 'e2ee-x': { supportsE2EE: true, supportsTeeAttestation: true }, plain: { supportsE2EE: false }, odd: { supportsE2EE: 'yes' } }),
    }));
    const c = new ModelCapabilityCatalogue({ upstream: up.upstream, modelIds: ['e2ee-x', 'e2ee-x:disable_thinking=true', 'plain', 'odd', 'gone'], logger });
    expect(c.get('e2ee-x')).toBeUndefined();
    await c.refresh();
    expect(c.get('e2ee-x')).toEqual({ e2ee: true, teeAttestation: true });
    expect(c.get('e2ee-x:disable_thinking=true')).toEqual({ e2ee: true, teeAttestation: true });
    expect(c.get('plain')).toEqual({ e2ee: false, teeAttestation: false });
    expect(c.get('odd')).toEqual({ e2ee: false, teeAttestation: false });
    expect(c.get('gone')).toEqual({ e2ee: false, teeAttestation: false });
    c.stop();
  });

  it('stays unknown while the provider fails, retries no sooner than the retry delay, keeps the last good list', async () => {
    let t = 1_000_000;
    let answer: { status: number; body: Buffer } | Error = new Error('connect ECONNREFUSED');
    const up = fakeUpstream(() => answer);
    const c = new ModelCapabilityCatalogue({ upstream: up.upstream, modelIds: ['m'], logger, now: () => t });
    await c.refresh();
    expect(c.get('m')).toBeUndefined();
    expect(up.calls()).toBe(1);
    t += CAPABILITIES_RETRY_MS - 1;
    c.get('m');
    expect(up.calls()).toBe(1);
    answer = { status: 200, body: list({ m: { supportsE2EE: true, supportsTeeAttestation: true } }) };
    t += 1;
    c.get('m'); // due: starts a background read
    await c.refresh(); // joins it
    expect(up.calls()).toBe(2);
    expect(c.get('m')).toEqual({ e2ee: true, teeAttestation: true });

    // A later failure (status or shape) keeps what was known.
    answer = { status: 500, body: Buffer.from('{}') };
    t += CAPABILITIES_REFRESH_MS;
    await c.refresh();
    expect(up.calls()).toBe(3);
    expect(c.get('m')).toEqual({ e2ee: true, teeAttestation: true });
    c.stop();
  });
});
