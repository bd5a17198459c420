import { backoffDelay, sleep } from '../core/backoff.ts';
import type { SinkCommonConfig } from '../core/common-config.ts';
import type { Sink, SinkWriteResult } from '../core/component.ts';
import type { Envelope } from '../core/envelope.ts';
import type { Logger } from '../observability/logger.ts';
import { RateLimitedLog } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DeadLetterFile } from './dead-letter.ts';
import { DeliveryError } from './outcome.ts';

/** A Retry-After longer than this is treated as this: a receiver's "come back tomorrow" must not stall shutdowns
 * and health checks for a day while its events wait safely anyway. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Delivers one batch through a sink until every event is either accepted or dead-lettered: retries with
 * exponential backoff and jitter (Retry-After honoured), splits batches the destination finds too large (413),
 * resends only the items a bulk API asked to retry, and dead-letters what it refused for good. Shared by every sink:
 * sinks only encode, send and classify the answer.
 */
export class Deliverer {
  private readonly retryLog: RateLimitedLog;

  constructor(
    private readonly name: string,
    private readonly sink: Sink,
    private readonly retry: SinkCommonConfig['retry'],
    private readonly deadLetter: DeadLetterFile | undefined,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {
    this.retryLog = new RateLimitedLog(logger, 5000);
  }

  /** Resolves true once every event is accepted or dead-lettered; false only when aborted (shutdown). */
  async deliver(events: Envelope[]): Promise<boolean> {
    // Work list in send order: a 413 replaces its chunk by two halves, a partial retry by the items to resend.
    const pending: Envelope[][] = [events];
    let attempt = 0;
    while (pending.length > 0) {
      if (this.signal.aborted) return false;
      const chunk = pending[0]!;
      const component = { component: this.name };
      this.metrics.sinkEventsSent.inc(component, chunk.length);
      const started = performance.now();
      let result: SinkWriteResult | undefined;
      try {
        result = (await this.sink.write(chunk)) ?? undefined;
      } catch (err) {
        const failure = err instanceof DeliveryError ? err : undefined;
        if (failure?.kind === 'reject') {
          pending.shift();
          await this.deadLetterEvents(chunk, failure.message);
          attempt = 0;
          continue;
        }
        if (failure?.kind === 'too_large') {
          pending.shift();
          if (chunk.length === 1) await this.deadLetterEvents(chunk, failure.message);
          else {
            const half = Math.ceil(chunk.length / 2);
            pending.unshift(chunk.slice(0, half), chunk.slice(half));
            this.logger.info('destination found the batch too large; splitting it', { events: chunk.length });
          }
          continue;
        }
        this.metrics.sinkBatches.inc({ ...component, outcome: 'retry' });
        this.metrics.sinkEventsRetried.inc(component, chunk.length);
        if (!(await this.waitBeforeRetry(attempt++, failure?.retryAfterMs, err, chunk.length))) return false;
        continue;
      }
      this.metrics.sinkLatency.observe(component, (performance.now() - started) / 1000);
      pending.shift();
      const rejected = result?.rejected ?? [];
      const retryIdx = result?.retry?.indices ?? [];
      this.metrics.sinkEventsAcknowledged.inc(component, chunk.length - rejected.length - retryIdx.length);
      if (rejected.length > 0) {
        const reasons = rejected.map((r) => r.reason);
        await this.deadLetterEvents(
          rejected.map((r) => chunk[r.index]!),
          (i) => reasons[i]!,
        );
      }
      if (retryIdx.length > 0) {
        this.metrics.sinkBatches.inc({ ...component, outcome: 'partial' });
        this.metrics.sinkEventsRetried.inc(component, retryIdx.length);
        pending.unshift(retryIdx.map((i) => chunk[i]!));
        const why = new Error(`${retryIdx.length} of ${chunk.length} events refused for now: ${result!.retry!.reason}`);
        if (!(await this.waitBeforeRetry(attempt++, result!.retry!.retryAfterMs, why, retryIdx.length))) return false;
        continue;
      }
      this.metrics.sinkBatches.inc({ ...component, outcome: 'ok' });
      attempt = 0;
    }
    return true;
  }

  private async deadLetterEvents(events: Envelope[], reason: string | ((i: number) => string)): Promise<void> {
    this.metrics.sinkBatches.inc({ component: this.name, outcome: 'dead_letter' });
    this.logger.error('destination refused events for good; writing them to the dead-letter file', {
      events: events.length,
      reason: typeof reason === 'string' ? reason : reason(0),
      dead_letter: this.deadLetter?.path,
    });
    if (!this.deadLetter) {
      // Sinks without a dead-letter file (file, stdout) never refuse events; count rather than lose them silently.
      this.metrics.eventsFailed.inc({ component: this.name, reason: 'rejected' }, events.length);
      return;
    }
    for (;;) {
      try {
        await this.deadLetter.write(events, reason);
        return;
      } catch (err) {
        // The dead-letter file is their only copy: keep trying (a full disk) rather than acknowledge them lost.
        this.logger.error('cannot write the dead-letter file; retrying', { error: err });
        if (!(await sleep(1000, this.signal))) return;
      }
    }
  }

  private async waitBeforeRetry(
    attempt: number,
    retryAfterMs: number | undefined,
    err: unknown,
    events: number,
  ): Promise<boolean> {
    const backoff = backoffDelay(attempt, this.retry.initial_backoff, this.retry.max_backoff);
    const delay = retryAfterMs === undefined ? backoff : Math.min(Math.max(retryAfterMs, backoff), MAX_RETRY_AFTER_MS);
    this.retryLog.warn('sink write failed; retrying', { error: err, attempt: attempt + 1, events, retry_in_ms: delay });
    return sleep(delay, this.signal);
  }
}
