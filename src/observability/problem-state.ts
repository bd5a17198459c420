import type { Logger } from './logger.ts';

/** A short, bounded key of an error (its code, or the first word or HTTP status of its message): two failures with
 * the same key are the same problem going on, a different key is a change worth a log line. */
export function problemKey(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return reasonLabel(err instanceof Error ? err.message : String(err));
}

/** A bounded label value from a free-text reason ("HTTP 400: …" → "http_400", "mapper_parsing_exception: …" →
 * "mapper_parsing_exception"), so metrics do not grow a series per message. */
export function reasonLabel(reason: string): string {
  const http = /^HTTP (\d{3})/.exec(reason);
  if (http) return `http_${http[1]}`;
  const word = /^([A-Za-z_][A-Za-z0-9_.-]{0,60})/.exec(reason);
  return word ? word[1]!.toLowerCase() : 'other';
}

/**
 * A recurring problem (checkpoints that cannot be saved, a destination that refuses requests) logged once per state
 * change — when it starts, when its cause changes, when it ends, with how many attempts failed meanwhile — instead
 * of once per attempt. Attempts in between are logged at debug.
 */
export class ProblemState {
  private since: number | undefined;
  private key: string | undefined;
  private attempts = 0;
  private message = '';

  constructor(
    private readonly logger: Logger,
    /** What fails, as a log message: "cannot save checkpoints". */
    private readonly what: string,
    private readonly level: 'warn' | 'error' = 'error',
  ) {}

  /** Records a failed attempt; logs it when it starts a problem or changes its cause. True when it did. */
  fail(err: unknown, fields: Record<string, unknown> = {}): boolean {
    const key = problemKey(err);
    this.attempts++;
    this.message = err instanceof Error ? err.message : String(err);
    if (this.since !== undefined && key === this.key) {
      this.logger.debug(this.what, { error: err, ...fields, failed_attempts: this.attempts });
      return false;
    }
    const changed = this.since !== undefined;
    this.since ??= Date.now();
    this.key = key;
    this.logger[this.level](this.what, {
      error: err,
      ...fields,
      ...(changed ? { cause_changed: true, failed_attempts: this.attempts } : {}),
    });
    return true;
  }

  /** Records a successful attempt; logs the end of a problem, with its count and duration. */
  ok(fields: Record<string, unknown> = {}): void {
    if (this.since === undefined) return;
    this.logger.info(`${this.what}: resolved`, {
      ...fields,
      failed_attempts: this.attempts,
      failing_for_ms: Date.now() - this.since,
    });
    this.since = undefined;
    this.key = undefined;
    this.attempts = 0;
  }

  /** While failing: since when (epoch ms), how many attempts failed and the last error's message. */
  get failing(): { since: number; attempts: number; message: string } | undefined {
    return this.since === undefined ? undefined : { since: this.since, attempts: this.attempts, message: this.message };
  }
}
