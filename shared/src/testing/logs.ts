import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logger.js';

export interface LogCapture {
  /** An `info` logger writing into `lines`. */
  logger: Logger;
  /** Every line written so far, as written (JSON text). */
  lines: string[];
  /** Every line written so far, parsed (a closure: tests destructure it). */
  records: () => Array<Record<string, unknown>>;
}

/** Captures every log line an app writes, for tests that look into the logs. */
export function logCapture(options: { name?: string } = {}): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', name: options.name }, stream),
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
