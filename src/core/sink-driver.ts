import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { AckToken } from './ack.ts';
import { backoffDelay, sleep } from './backoff.ts';
import type { SinkCommonConfig } from './common-config.ts';
import type { Sink } from './component.ts';
import { type Envelope, encodeEvent } from './envelope.ts';
import { BoundedQueue } from './queue.ts';

interface QueuedBatch {
  events: Envelope[];
  token: AckToken;
}

/**
 * Drives one sink: a bounded input queue (backpressure to the sources), batching by count, bytes and time, retries
 * with backoff, and acknowledgement of every source batch once the sink has durably written it. Sinks themselves
 * only encode and write.
 */
export class SinkDriver {
  private readonly queue: BoundedQueue<QueuedBatch>;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    readonly name: string,
    private readonly sink: Sink,
    private readonly config: SinkCommonConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.queue = new BoundedQueue(config.queue.max_events);
    metrics.queueCapacity.set({ component: name }, config.queue.max_events);
  }

  async enqueue(events: Envelope[], token: AckToken): Promise<void> {
    await this.queue.push({ events, token }, events.length);
    this.metrics.queueDepth.set({ component: this.name }, this.queue.depth);
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops accepting events and waits until everything queued is written, or until `deadline` (epoch ms). */
  async drain(deadline: number): Promise<boolean> {
    this.queue.close();
    const timeout = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.loop ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      // Whatever is still queued stays unacknowledged: its sources resume from before it on the next start.
      this.abort.abort();
      this.logger.warn('sink did not drain before the shutdown deadline; unwritten events will be re-read', {
        queued_events: this.queue.depth,
      });
    }
    return finished;
  }

  private async run(): Promise<void> {
    const { max_events, max_bytes, timeout } = this.config.batch;
    for (;;) {
      const first = await this.queue.shift();
      if (!first) return;
      const batches = [first];
      let count = first.events.length;
      let bytes = byteLength(first.events);
      const flushAt = Date.now() + timeout;
      while (count < max_events && bytes < max_bytes) {
        const next = this.queue.tryShift();
        if (next) {
          batches.push(next);
          count += next.events.length;
          bytes += byteLength(next.events);
          continue;
        }
        const wait = flushAt - Date.now();
        if (this.queue.isClosed || wait <= 0 || !(await this.queue.waitForItem(wait))) break;
      }
      this.metrics.queueDepth.set({ component: this.name }, this.queue.depth);
      const events = batches.length === 1 ? first.events : batches.flatMap((b) => b.events);
      if (!(await this.writeWithRetry(events))) return;
      for (const b of batches) b.token.release();
      this.metrics.eventsEmitted.inc({ component: this.name }, events.length);
    }
  }

  private async writeWithRetry(events: Envelope[]): Promise<boolean> {
    const { initial_backoff, max_backoff } = this.config.retry;
    for (let attempt = 0; ; attempt++) {
      if (this.abort.signal.aborted) return false;
      const started = performance.now();
      try {
        await this.sink.write(events);
        this.metrics.sinkLatency.observe({ component: this.name }, (performance.now() - started) / 1000);
        this.metrics.sinkBatches.inc({ component: this.name, outcome: 'ok' });
        return true;
      } catch (err) {
        this.metrics.sinkBatches.inc({ component: this.name, outcome: 'retry' });
        const delay = backoffDelay(attempt, initial_backoff, max_backoff);
        this.logger.warn('sink write failed; retrying', { error: err, attempt: attempt + 1, retry_in_ms: delay });
        if (!(await sleep(delay, this.abort.signal))) return false;
      }
    }
  }
}

function byteLength(events: Envelope[]): number {
  let n = 0;
  for (const e of events) n += encodeEvent(e).length + 1;
  return n;
}
