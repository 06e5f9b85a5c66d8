// Configuration of the listeners: the metrics address (loopback by default, or off), the
// header timeout and the per-address connection cap.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { configProblems, validEnv } from './helpers/config.js';

const valid = validEnv;
const problems = configProblems;

describe('listener configuration', () => {
  it('serves metrics on loopback port 9464 by default (an ephemeral loopback port when ZKC_PORT=0)', () => {
    expect(loadConfig(valid).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ ...valid, ZKC_HOST: '0.0.0.0' }).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ ...valid, ZKC_PORT: '0' }).metrics).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('takes ZKC_METRICS_ADDR as host:port, [ipv6]:port or off', () => {
    expect(loadConfig({ ...valid, ZKC_METRICS_ADDR: '0.0.0.0:9100' }).metrics).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(loadConfig({ ...valid, ZKC_METRICS_ADDR: '[::1]:9464' }).metrics).toEqual({ host: '::1', port: 9464 });
    expect(loadConfig({ ...valid, ZKC_METRICS_ADDR: 'server-metrics.internal:9464' }).metrics).toEqual({ host: 'server-metrics.internal', port: 9464 });
    expect(loadConfig({ ...valid, ZKC_METRICS_ADDR: 'off' }).metrics).toBeUndefined();
    for (const bad of ['9464', '127.0.0.1', '127.0.0.1:99999', 'http://127.0.0.1:9464', '::1:9464']) {
      expect(problems({ ...valid, ZKC_METRICS_ADDR: bad })[0]).toMatch(/ZKC_METRICS_ADDR must be host:port or off, e\.g\. ZKC_METRICS_ADDR=127\.0\.0\.1:9464/);
    }
    expect(problems({ ...valid, ZKC_PORT: '9464' })[0]).toMatch(/ZKC_METRICS_ADDR uses port 9464, the API's ZKC_PORT/);
    expect(loadConfig({ ...valid, ZKC_PORT: '9464', ZKC_METRICS_ADDR: '127.0.0.1:9465' }).metrics?.port).toBe(9465);
  });

  it('gives clients 10 s for their headers and 64 connections per address by default', () => {
    expect(loadConfig(valid).connections).toEqual({ headersTimeoutMs: 10_000, maxPerIp: 64 });
    expect(loadConfig({ ...valid, ZKC_HEADERS_TIMEOUT_MS: '2500', ZKC_MAX_CONNECTIONS_PER_IP: '8' }).connections).toEqual({ headersTimeoutMs: 2500, maxPerIp: 8 });
    expect(problems({ ...valid, ZKC_HEADERS_TIMEOUT_MS: 'slow' })[0]).toMatch(/ZKC_HEADERS_TIMEOUT_MS must be a whole number/);
    expect(problems({ ...valid, ZKC_HEADERS_TIMEOUT_MS: '10' })[0]).toMatch(/ZKC_HEADERS_TIMEOUT_MS must be at least 100/);
    expect(problems({ ...valid, ZKC_MAX_CONNECTIONS_PER_IP: '0' })[0]).toMatch(/ZKC_MAX_CONNECTIONS_PER_IP must be at least 1/);
  });
});
