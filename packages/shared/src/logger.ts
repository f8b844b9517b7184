import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON object per line on stdout; built by main(), never at import time. */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    base: { process: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Tokens never reach a log line, whatever object a caller passes.
    redact: {
      paths: ['*.password', '*.token', '*.authorization', 'headers.authorization', 'config.REDIS_URL'],
      censor: '***',
    },
  });
}
