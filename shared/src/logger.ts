import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths that must never reach a log line: credentials in headers and any secret-bearing field.
 * pino replaces them with "[redacted]" before serialising.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  'appSecret',
  'app_secret',
  '*.appSecret',
  '*.app_secret',
  '*.token',
  '*.authorization',
];

export interface LoggerConfig {
  level: string;
  /** Human-readable output for a person at a terminal (npm start); JSON otherwise. */
  pretty?: boolean;
  name?: string;
}

export function createLogger(config: LoggerConfig, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: config.level,
    name: config.name,
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (config.pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } });
  }
  return pino(options);
}
