import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Paths that could carry secrets or what people typed are redacted
 * even if a caller passes them by mistake; the turn log only ever records activity type, command or
 * verb, outcome and duration.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { app: 'together' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', '*.password', 'authorization', '*.authorization', 'headers.authorization', 'token', '*.token', 'text', '*.text', 'connectionString', '*.connectionString'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** What one turn did, filled in by the routes as they run and written as one line at the end. */
export interface TurnRecord {
  activityType: string;
  name?: string;
  command?: string;
  verb?: string;
  outcome: 'ok' | 'refused' | 'invalid' | 'ignored' | 'limited' | 'error';
}
