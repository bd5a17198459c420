import { join } from 'node:path';
import type { DeliveryOptions } from '../delivery/config.ts';
import { DeadLetterFile } from '../delivery/dead-letter.ts';
import { Deliverer } from '../delivery/deliverer.ts';
import { type BufferedBatch, DiskBuffer } from '../delivery/disk-buffer.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { AckToken } from './ack.ts';
import { backoffDelay, sleep } from './backoff.ts';
import type { SinkCommonConfig } from './common-config.ts';
import type { Sink } from './component.ts';
import { type Envelope, encodedSize } from './envelope.ts';
import { BoundedQueue } from './queue.ts';

interface QueuedBatch {
  events: Envelope[];
  token: AckToken;
}

/** A sink's common keys, plus the buffer and dead-letter keys of network sinks (src/delivery/config.ts). */
export type SinkDriverConfig = SinkCommonConfig & Partial<DeliveryOptions> & { concurrency?: number };

/**
 * Drives one sink: a bounded input queue (backpressure to the sources), batching by count, bytes and time, and
 * delivery through the shared Deliverer (retries, splits, dead letters). Without a disk buffer, a source batch is
 * acknowledged once the destination accepted (or dead-lettered) it. With one, it is acknowledged once durably in the
 * buffer, and a second loop delivers from the buffer in order — events then survive a destination outage across
 * restarts and crashes. Sinks themselves only encode, send and classify the answer.
 */
export class SinkDriver {
  private readonly queue: BoundedQueue<QueuedBatch>;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly deadLetter: DeadLetterFile | undefined;
  private readonly deliverer: Deliverer;
  private buffer: DiskBuffer | undefined;
  private delivering: Promise<void> | undefined;
  /** Batches read from the disk buffer and not yet acknowledged in it, in read order. */
  private readonly unacknowledged: Array<{ batch: BufferedBatch; delivered: boolean }> = [];
  private gaugeTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    sink: Sink,
    private readonly config: SinkDriverConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly stateDir: string,
  ) {
    this.queue = new BoundedQueue(config.queue.max_events);
    metrics.queueCapacity.set({ component: name }, config.queue.max_events);
    if (config.dead_letter)
      this.deadLetter = new DeadLetterFile(
        config.dead_letter.path ?? join(stateDir, 'dead-letter.ndjson'),
        name,
        metrics,
      );
    this.deliverer = new Deliverer(name, sink, config.retry, this.deadLetter, metrics, logger, this.abort.signal);
  }

  async enqueue(events: Envelope[], token: AckToken): Promise<void> {
    await this.queue.push({ events, token }, events.length);
    this.metrics.queueDepth.set({ component: this.name }, this.queue.depth);
  }

  async start(): Promise<void> {
    const buffer = this.config.buffer;
    if (buffer?.type !== 'disk') {
      this.loop = this.runDirect();
      return;
    }
    const component = { component: this.name };
    this.buffer = await DiskBuffer.open({
      dir: buffer.path ?? join(this.stateDir, 'buffer'),
      maxBytes: buffer.max_bytes,
      whenFull: buffer.when_full,
      fsync: buffer.fsync,
      fsyncIntervalMs: buffer.fsync_interval,
      onDropped: (n) => this.metrics.eventsDropped.inc({ ...component, reason: 'buffer_full' }, n),
      onCorrupt: (n) => {
        this.metrics.eventsFailed.inc({ ...component, reason: 'buffer_corrupt' }, n);
        this.logger.error('unreadable records in the disk buffer were skipped', { records: n });
      },
    });
    this.metrics.sinkBufferMaxBytes.set(component, buffer.max_bytes);
    this.gaugeTimer = setInterval(() => this.updateBufferGauges(), 1000);
    this.gaugeTimer.unref();
    this.updateBufferGauges();
    if (this.buffer.hasUnread)
      this.logger.info('delivering events left in the disk buffer', { bytes: this.buffer.bytes });
    this.loop = this.runIntoBuffer(this.buffer);
    this.delivering = this.deliverFromBuffer(this.buffer).catch((err) =>
      this.logger.error('delivery from the disk buffer stopped', { error: err }),
    );
  }

  private updateBufferGauges(): void {
    const component = { component: this.name };
    this.metrics.sinkBufferBytes.set(component, this.buffer?.bytes ?? 0);
    const since = this.unacknowledged[0]?.batch.oldestBufferedAt;
    this.metrics.sinkBufferOldestAge.set(component, since === undefined ? 0 : (Date.now() - since) / 1000);
  }

  /**
   * Stops accepting events and waits until everything queued is delivered (or, with a disk buffer, durably in the
   * buffer and delivered as far as the destination allows), or until `deadline` (epoch ms).
   */
  async drain(deadline: number): Promise<boolean> {
    this.queue.close();
    const finished = await this.until(this.loop ?? Promise.resolve(), deadline);
    if (finished && this.buffer) {
      const buffer = this.buffer;
      // Whatever the destination does not take before the deadline stays in the buffer for the next start.
      while (Date.now() < deadline && (buffer.hasUnread || this.unacknowledged.length > 0)) await sleep(50);
    }
    if (!finished) {
      // Whatever is still queued stays unacknowledged: its sources resume from before it on the next start.
      this.logger.warn('sink did not drain before the shutdown deadline; unwritten events will be re-read', {
        queued_events: this.queue.depth,
      });
    }
    this.abort.abort();
    clearInterval(this.gaugeTimer);
    if (this.buffer) {
      // Closing wakes a reader waiting for data. A request in flight finishes (or times out) on its own; its batch
      // was not acknowledged in the buffer, so it is sent again after the next start.
      await this.buffer.close();
      await this.until(this.delivering ?? Promise.resolve(), Math.max(deadline, Date.now() + 1000));
    }
    await this.deadLetter?.close();
    return finished;
  }

  private async until(promise: Promise<void>, deadline: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** The next batch from the queue: waits for the first item, then gathers more until a batch limit is reached or,
   * when `linger`, the batch timeout passed. */
  private async nextBatch(linger: boolean): Promise<QueuedBatch[] | undefined> {
    const { max_events, max_bytes, timeout } = this.config.batch;
    const first = await this.queue.shift();
    if (!first) return undefined;
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
      if (!linger || this.queue.isClosed || wait <= 0 || !(await this.queue.waitForItem(wait))) break;
    }
    this.metrics.queueDepth.set({ component: this.name }, this.queue.depth);
    return batches;
  }

  private get concurrency(): number {
    return this.config.concurrency ?? 1;
  }

  /** Without a buffer: up to `concurrency` batches in flight; each releases its own source batches when delivered
   * (sources commit in read order themselves, see OrderedCommitTracker). */
  private async runDirect(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      // The next batch is gathered (and its events encoded, see byteLength) while earlier ones are still being
      // written: CPU work overlaps the destination's I/O even with one batch in flight.
      const batches = await this.nextBatch(true);
      while (inFlight.size >= this.concurrency) await Promise.race(inFlight);
      if (!batches) break;
      const events = batches.length === 1 ? batches[0]!.events : batches.flatMap((b) => b.events);
      const sending: Promise<void> = this.deliverer.deliver(events).then(
        (delivered) => {
          inFlight.delete(sending);
          // Not delivered (shutdown): the batch stays unacknowledged and its sources read it again.
          if (!delivered) return;
          for (const b of batches) b.token.release();
          this.metrics.eventsEmitted.inc({ component: this.name }, events.length);
        },
        (err: unknown) => {
          inFlight.delete(sending);
          this.logger.error('delivery failed unexpectedly; the batch stays unacknowledged', { error: err });
        },
      );
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
  }

  /** Pipeline side of a disk buffer: append what arrives (no lingering: the reader side batches) and acknowledge. */
  private async runIntoBuffer(buffer: DiskBuffer): Promise<void> {
    for (;;) {
      const batches = await this.nextBatch(false);
      if (!batches) return;
      const events = batches.length === 1 ? batches[0]!.events : batches.flatMap((b) => b.events);
      for (let attempt = 0; ; attempt++) {
        try {
          await buffer.append(events);
          break;
        } catch (err) {
          // Disk full or failing: the events are not acknowledged, so the sources hold them; try again.
          const delay = backoffDelay(attempt, this.config.retry.initial_backoff, this.config.retry.max_backoff);
          this.logger.error('cannot write to the disk buffer; retrying', { error: err, retry_in_ms: delay });
          if (!(await sleep(delay, this.abort.signal))) return;
        }
      }
      for (const b of batches) b.token.release();
      this.metrics.sinkBufferBytes.set({ component: this.name }, buffer.bytes);
    }
  }

  /** Destination side of a disk buffer: up to `concurrency` batches in flight, read in order; the buffer's cursor
   * moves past a batch only once it and every batch before it were delivered. */
  private async deliverFromBuffer(buffer: DiskBuffer): Promise<void> {
    const { max_events, max_bytes, timeout } = this.config.batch;
    const inFlight = new Set<Promise<void>>();
    let stopped = false;
    while (!stopped) {
      while (inFlight.size >= this.concurrency) await Promise.race(inFlight);
      const batch = stopped ? undefined : await buffer.read(max_events, max_bytes, timeout);
      if (!batch) break;
      const entry = { batch, delivered: false };
      this.unacknowledged.push(entry);
      const sending: Promise<void> = this.deliverer
        .deliver(batch.events)
        .then(async (delivered) => {
          // Nothing reads the batch's events any more: their bytes serve the buffer's next read.
          batch.release?.();
          if (!delivered) {
            stopped = true;
            return;
          }
          entry.delivered = true;
          while (this.unacknowledged[0]?.delivered) {
            const done = this.unacknowledged.shift()!;
            await buffer.acknowledge(done.batch.end);
            this.metrics.eventsEmitted.inc({ component: this.name }, done.batch.events.length);
          }
          this.updateBufferGauges();
        })
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
  }
}

function byteLength(events: Envelope[]): number {
  let n = 0;
  for (const e of events) n += encodedSize(e);
  return n;
}
