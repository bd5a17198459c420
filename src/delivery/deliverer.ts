import { backoffDelay, sleep } from '../core/backoff.ts';
import type { SinkCommonConfig } from '../core/common-config.ts';
import type { Sink, SinkWriteResult } from '../core/component.ts';
import type { Envelope } from '../core/envelope.ts';
import type { Logger } from '../observability/logger.ts';
import { RateLimitedLog } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { ProblemState } from '../observability/problem-state.ts';
import type { DeadLetterFile } from './dead-letter.ts';
import { DeliveryError } from './outcome.ts';

/** A Retry-After longer than this is treated as this: a receiver's "come back tomorrow" must not stall shutdowns
 * and health checks for a day while its events wait safely anyway. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** While a sink's writes fail: how (transient, or the destination refusing every request), since when, how often. */
export interface DeliveryFailure {
  kind: 'transient' | 'destination';
  since: number;
  attempts: number;
  message: string;
}

/**
 * Delivers one batch through a sink until every event is either accepted or dead-lettered: retries with
 * exponential backoff and jitter (Retry-After honoured), splits batches the destination finds too large (413) or
 * refuses for their content (400) until the refused event is alone, resends only the items a bulk API asked to
 * retry, and dead-letters only events refused for their own content. A destination that refuses every request
 * (credentials, a wrong endpoint) is retried too, never dead-lettered: the sink reports itself not ready meanwhile.
 * Failures are logged once per state change (start, change of cause, end), not per attempt. Shared by every sink:
 * sinks only encode, send and classify the answer.
 */
export class Deliverer {
  private readonly problem: ProblemState;
  private failureKind: DeliveryFailure['kind'] = 'transient';
  private readonly deadLetterLog: RateLimitedLog;

  constructor(
    private readonly name: string,
    private readonly sink: Sink,
    private readonly retry: SinkCommonConfig['retry'],
    private readonly deadLetter: DeadLetterFile | undefined,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    /** Called when writes start failing, change cause or work again (the sink's readiness follows). */
    private readonly onFailureChange: () => void = () => {},
  ) {
    this.problem = new ProblemState(logger, 'sink cannot deliver; retrying', 'warn');
    this.deadLetterLog = new RateLimitedLog(logger, 5000);
  }

  /** Undefined while writes succeed. */
  get failure(): DeliveryFailure | undefined {
    const f = this.problem.failing;
    return f && { kind: this.failureKind, ...f };
  }

  /** Resolves true once every event is accepted or dead-lettered; false only when aborted (shutdown). */
  async deliver(events: Envelope[]): Promise<boolean> {
    // Work list in send order: a split replaces its chunk by two halves, a partial retry by the items to resend.
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
        const kind = failure?.kind ?? 'transient';
        this.metrics.componentErrors.inc({ ...component, reason: kind });
        if (kind === 'too_large' || kind === 'invalid') {
          // The destination answered: it is up, and refuses these events. Halve until the refused one is alone.
          this.succeeded();
          pending.shift();
          if (chunk.length === 1) await this.deadLetterEvents(chunk, failure!.message);
          else {
            const half = Math.ceil(chunk.length / 2);
            pending.unshift(chunk.slice(0, half), chunk.slice(half));
            this.logger.debug('destination refused the batch; splitting it', { events: chunk.length, error: err });
          }
          continue;
        }
        this.metrics.sinkBatches.inc({ ...component, outcome: 'retry' });
        this.metrics.sinkEventsRetried.inc(component, chunk.length);
        this.failed(kind, err, chunk.length);
        if (!(await this.waitBeforeRetry(attempt++, failure?.retryAfterMs))) return false;
        continue;
      }
      this.metrics.sinkLatency.observe(component, (performance.now() - started) / 1000);
      pending.shift();
      const rejected = result?.rejected ?? [];
      const retry = result?.retry;
      const retryIdx = retry?.indices ?? [];
      this.metrics.sinkEventsAcknowledged.inc(component, chunk.length - rejected.length - retryIdx.length);
      if (rejected.length > 0) {
        const reasons = rejected.map((r) => r.reason);
        await this.deadLetterEvents(
          rejected.map((r) => chunk[r.index]!),
          (i) => reasons[i]!,
        );
      }
      if (retry && retryIdx.length > 0) {
        this.metrics.sinkBatches.inc({ ...component, outcome: 'partial' });
        this.metrics.sinkEventsRetried.inc(component, retryIdx.length);
        pending.unshift(retryIdx.map((i) => chunk[i]!));
        const why = new Error(`${retryIdx.length} of ${chunk.length} events refused for now: ${retry.reason}`);
        const kind = retry.destination ? 'destination' : 'transient';
        this.metrics.componentErrors.inc({ ...component, reason: kind });
        // Items refused for now while others passed: the destination is up, so only its own refusal is a failure.
        if (retry.destination) this.failed(kind, why, retryIdx.length);
        else this.succeeded();
        if (!(await this.waitBeforeRetry(attempt++, retry.retryAfterMs))) return false;
        continue;
      }
      this.succeeded();
      this.metrics.sinkBatches.inc({ ...component, outcome: 'ok' });
      attempt = 0;
    }
    return true;
  }

  private failed(kind: DeliveryFailure['kind'], err: unknown, events: number): void {
    const changedKind = kind !== this.failureKind && this.problem.failing !== undefined;
    this.failureKind = kind;
    const logged = this.problem.fail(err, {
      events,
      ...(kind === 'destination'
        ? { hint: 'the destination refuses every request (credentials, endpoint): events are kept and sent again' }
        : {}),
    });
    if (logged || changedKind) this.onFailureChange();
  }

  private succeeded(): void {
    if (this.problem.failing === undefined) return;
    this.problem.ok();
    this.onFailureChange();
  }

  private async deadLetterEvents(events: Envelope[], reason: string | ((i: number) => string)): Promise<void> {
    this.metrics.sinkBatches.inc({ component: this.name, outcome: 'dead_letter' });
    this.deadLetterLog.error('destination refused events for their content; writing them to the dead-letter file', {
      events: events.length,
      reason: typeof reason === 'string' ? reason : reason(0),
      dead_letter: this.deadLetter?.path,
    });
    if (!this.deadLetter) {
      // Sinks without a dead-letter file (file, stdout) never refuse events; count rather than lose them silently.
      this.metrics.eventsLost.inc({ component: this.name, reason: 'rejected' }, events.length);
      return;
    }
    const problem = new ProblemState(this.logger, 'cannot write the dead-letter file; retrying');
    for (;;) {
      try {
        await this.deadLetter.write(events, reason);
        problem.ok();
        return;
      } catch (err) {
        // The dead-letter file is their only copy: keep trying (a failing disk) rather than acknowledge them lost.
        problem.fail(err);
        if (!(await sleep(1000, this.signal))) return;
      }
    }
  }

  private waitBeforeRetry(attempt: number, retryAfterMs: number | undefined): Promise<boolean> {
    const backoff = backoffDelay(attempt, this.retry.initial_backoff, this.retry.max_backoff);
    const delay = retryAfterMs === undefined ? backoff : Math.min(Math.max(retryAfterMs, backoff), MAX_RETRY_AFTER_MS);
    return sleep(delay, this.signal);
  }
}
