// Entry point: `npx tsx packages/server/src/main.ts` with ZKC_* environment variables.
import { isZkCreditsError } from '@zkcredits/core';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const server = await startServer(config, logger).catch((err: unknown) => {
    // A bad configuration or a missing/wrong CRS volume: say what to fix, plainly.
    if (err instanceof ConfigError || isZkCreditsError(err, 'crs_unavailable')) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err }, 'start-up failed');
    process.exit(1);
  });
  // One machine-readable line for supervisors and tests.
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: server.url, port: server.port })}\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    server
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
