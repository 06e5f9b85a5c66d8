import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Paths removed from every log line. Handlers never log bodies, but this is the safety net:
 * prompts, completions, proofs, credentials and keys must never reach a log.
 */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-api-key"]',
  'apiKey',
  '*.apiKey',
  'upstream.apiKey',
  'config.upstream.apiKey',
  'databaseUrl',
  '*.databaseUrl',
  'body',
  '*.body',
  'messages',
  '*.messages',
  'prompt',
  'proof',
  '*.proof',
  'zkcredits',
  '*.zkcredits',
  'credential',
  '*.credential',
  'nullifier',
  'secret',
  '*.secret',
];

export type { Logger };

/** The root logger; subsystems take `logger.child({ subsystem })`. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'zkcredits-server' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}
