/**
 * The processes' logger: pino, with personal data and secrets redacted (`redaction.ts`). In production one
 * JSON object per line for the log shipper; in development the same records made readable for a person by
 * pino-pretty (time, level, message, then the fields), in process so `npm start` can interleave them.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { CraConfig } from './config.js';
import { redactedLogPaths } from './redaction.js';

export function createLogger(config: Pick<CraConfig, 'logLevel' | 'logFormat'>, service: string): Logger {
  const options = {
    level: config.logLevel,
    base: { service },
    redact: { paths: redactedLogPaths, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (config.logFormat === 'json') return pino(options);
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY || process.env.FORCE_COLOR !== undefined,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service',
      singleLine: true,
    }),
  );
}
