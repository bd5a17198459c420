// Outrider's own logs: one JSON object per line on stderr. Field values whose key looks like a secret are masked, so a
// careless `logger.info('…', { token })` cannot leak one.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authorization|credential|private[_-]?key/i;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

type Write = (line: string) => void;

function maskSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '***';
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

export function createLogger(
  level: LogLevel = 'info',
  bound: Record<string, unknown> = {},
  write: Write = (line) => process.stderr.write(line),
): Logger {
  const min = LEVELS[level];
  const log = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    const record = {
      ts: new Date().toISOString(),
      level: lvl,
      msg,
      ...maskSecrets(bound),
      ...(fields ? maskSecrets(fields) : {}),
    };
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (fields) => createLogger(level, { ...bound, ...fields }, write),
  };
}

/** A logger that says a recurring problem once per interval, with the count of what it did not repeat. */
export class RateLimitedLog {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(msg: string, fields?: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.logger.warn(msg, this.suppressed > 0 ? { ...fields, suppressed_since_last: this.suppressed } : fields);
    this.last = now;
    this.suppressed = 0;
  }
}
