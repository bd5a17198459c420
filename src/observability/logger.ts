// Outrider's own logs: one JSON object per line on stderr. Field values whose key looks like a secret are masked, so a
// careless `logger.info('…', { token })` cannot leak one.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|api[_-]?key|authorization|credential|private[_-]?key/i;

/** The environment variable that overrides `log.level` (a debug session without editing the config). */
export const LOG_LEVEL_ENV = 'OUTRIDER_LOG_LEVEL';

/** The level to log at: `OUTRIDER_LOG_LEVEL` when set to a level, else the configured one. */
export function effectiveLogLevel(configured: LogLevel, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const wanted = env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  return wanted !== undefined && wanted in LEVELS ? (wanted as LogLevel) : configured;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

type Write = (line: string) => void;

/** Most causes followed down an error's `cause` chain. */
const MAX_CAUSES = 4;

/**
 * An error as log fields beside its message: `<key>_code` (ENOSPC, ECONNREFUSED, UND_ERR_…), `<key>_cause` (the
 * messages of its causes: undici's "fetch failed" says little without them) and, at debug, `<key>_stack`.
 */
function errorFields(key: string, err: Error, withStack: boolean, out: Record<string, unknown>): void {
  out[key] = err.message;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' || typeof code === 'number') out[`${key}_code`] = code;
  const causes: string[] = [];
  for (let c: unknown = err.cause; c !== undefined && causes.length < MAX_CAUSES; ) {
    const inner = c instanceof Error ? c : undefined;
    const innerCode = (inner as { code?: unknown } | undefined)?.code;
    causes.push(inner ? `${inner.message}${innerCode ? ` (${innerCode})` : ''}` : String(c));
    c = inner?.cause;
  }
  if (causes.length > 0) out[`${key}_cause`] = causes.join(' <- ');
  if (withStack && err.stack) out[`${key}_stack`] = err.stack;
}

function logFields(fields: Record<string, unknown>, withStack: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '***';
    else if (v instanceof Error) errorFields(k, v, withStack, out);
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
  const withStack = level === 'debug';
  const log = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    const record = {
      ts: new Date().toISOString(),
      level: lvl,
      msg,
      ...logFields(bound, withStack),
      ...(fields ? logFields(fields, withStack) : {}),
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
    this.log('warn', msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }

  private log(level: 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.logger[level](msg, this.suppressed > 0 ? { ...fields, suppressed_since_last: this.suppressed } : fields);
    this.last = now;
    this.suppressed = 0;
  }
}
