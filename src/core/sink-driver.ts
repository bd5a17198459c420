import { join } from 'node:path';
import type { DeliveryOptions } from '../delivery/config.ts';
import { DeadLetterFile } from '../delivery/dead-letter.ts';
import { Deliverer } from '../delivery/deliverer.ts';
import { type BufferedBatch, DiskBuffer } from '../delivery/disk-buffer.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { ProblemState } from '../observability/problem-state.ts';
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

/** Events on their way to the destination together, and the source batches (whole or in part) they come from. */
interface OutgoingBatch {
  events: Envelope[];
  tokens: AckToken[];
}

/** A sink's common keys, plus the buffer and dead-letter keys of network sinks (src/delivery/config.ts). */
export type SinkDriverConfig = SinkCommonConfig & Partial<DeliveryOptions> & { concurrency?: number };

export interface SinkDriverOptions {
  /** Work waiting without progress, or writes failing, for this long: the sink reports itself degraded. */
  stalledAfterMs: number;
  /** Receives the sink's delivery problem (undefined: none) whenever it may have changed. */
  onProblem(problem: string | undefined): void;
}

/**
 * Drives one sink: a bounded input queue (backpressure to the sources, bounded in events and in bytes), batches that
 * honour both `batch.max_events` and `batch.max_bytes` (a source batch larger than either is split), and delivery
 * through the shared Deliverer (retries, splits, dead letters). Without a disk buffer, a source batch is
 * acknowledged once the destination accepted (or dead-lettered) every part of it. With one, it is acknowledged once
 * durably in the buffer, and a second loop delivers from the buffer in order — events then survive a destination
 * outage across restarts and crashes. It also tells readiness the truth: a sink whose destination refuses its
 * requests, whose writes keep failing or that holds work without progress reports why. Sinks themselves only
 * encode, send and classify the answer.
 */
export class SinkDriver {
  private readonly queue: BoundedQueue<QueuedBatch>;
  /** The rest of a source batch split across outgoing batches. */
  private carry: QueuedBatch | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly deadLetter: DeadLetterFile | undefined;
  private readonly deliverer: Deliverer;
  private buffer: DiskBuffer | undefined;
  private delivering: Promise<void> | undefined;
  /** Batches read from the disk buffer and not yet acknowledged in it, in read order. */
  private readonly unacknowledged: Array<{ batch: BufferedBatch; delivered: boolean }> = [];
  private gaugeTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** When the sink last had nothing to do or delivered (or buffered) something. */
  private lastProgressAt = Date.now();
  private readonly bufferProblem: ProblemState;

  constructor(
    readonly name: string,
    sink: Sink,
    private readonly config: SinkDriverConfig,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly stateDir: string,
    private readonly options: SinkDriverOptions = { stalledAfterMs: 60_000, onProblem: () => {} },
  ) {
    const component = { component: name };
    this.queue = new BoundedQueue({ events: config.queue.max_events, bytes: config.queue.max_bytes });
    metrics.queueCapacity.set(component, config.queue.max_events);
    metrics.queueCapacityBytes.set(component, config.queue.max_bytes);
    if (config.dead_letter)
      this.deadLetter = new DeadLetterFile(
        config.dead_letter.path ?? join(stateDir, 'dead-letter.ndjson'),
        name,
        config.dead_letter.max_bytes,
        metrics,
        logger,
      );
    this.deliverer = new Deliverer(name, sink, config.retry, this.deadLetter, metrics, logger, this.abort.signal, () =>
      this.checkHealth(),
    );
    this.bufferProblem = new ProblemState(logger, 'cannot write to the disk buffer; retrying');
  }

  /** Queues a source batch, waiting for room; false when the sink takes no more events (shutting down): the batch
   * is then not delivered here, its token not released, and its source reads it again on the next start. */
  async enqueue(events: Envelope[], token: AckToken): Promise<boolean> {
    let bytes = 0;
    for (const e of events) bytes += encodedSize(e);
    const queued = await this.queue.push({ events, token }, { events: events.length, bytes });
    this.updateQueueGauges();
    return queued;
  }

  /** Takes no more events (shutdown): sources waiting for room are let go at once, without their batch queued. */
  closeIntake(): void {
    this.queue.close();
  }

  private updateQueueGauges(): void {
    const component = { component: this.name };
    this.metrics.queueDepth.set(component, this.queue.depth);
    this.metrics.queueBytes.set(component, this.queue.bytes);
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
      onDropped: (n) => this.metrics.eventsLost.inc({ ...component, reason: 'buffer_full' }, n),
      onCorrupt: (n) => {
        this.metrics.eventsLost.inc({ ...component, reason: 'buffer_corrupt' }, n);
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

  /** Whether events wait for this sink: queued, split, in flight or in the disk buffer. */
  private get hasWork(): boolean {
    return this.queue.depth > 0 || this.carry !== undefined || this.inFlight > 0 || this.buffer?.hasUnread === true;
  }

  /**
   * Works out the sink's delivery problem and hands it to `onProblem`: the destination refusing every request (at
   * once), writes failing for `stalledAfterMs`, or work waiting that long without progress. Called on every change of
   * the delivery state and periodically by the pipeline.
   */
  checkHealth(now = Date.now()): void {
    const { stalledAfterMs } = this.options;
    if (!this.hasWork) this.lastProgressAt = now;
    const stalled = now - this.lastProgressAt >= stalledAfterMs;
    const failure = this.deliverer.failure;
    const buffering = this.bufferProblem.failing;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    let problem: string | undefined;
    if (failure?.kind === 'destination')
      problem = `destination refuses the requests (credentials or endpoint), retrying: ${failure.message}`;
    else if (failure && (stalled || now - failure.since >= stalledAfterMs))
      problem = `writes failing for ${seconds(now - failure.since)} (${failure.attempts} attempts): ${failure.message}`;
    else if (buffering && (stalled || now - buffering.since >= stalledAfterMs))
      problem = `cannot write to the disk buffer for ${seconds(now - buffering.since)}: ${buffering.message}`;
    else if (stalled)
      problem = `no progress for ${seconds(now - this.lastProgressAt)} with events waiting (${this.queue.depth} queued, ${this.inFlight} batches in flight)`;
    this.options.onProblem(problem);
  }

  private progressed(): void {
    this.lastProgressAt = Date.now();
    this.checkHealth();
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

  /**
   * The next outgoing batch: waits for the first events, then gathers more until `batch.max_events` or
   * `batch.max_bytes` would be exceeded or, when `linger`, the batch timeout passed. A source batch that does not fit
   * is split: its token is held once more for the part left for the next batch.
   */
  private async nextBatch(linger: boolean): Promise<OutgoingBatch | undefined> {
    const { max_events, max_bytes, timeout } = this.config.batch;
    const parts: Envelope[][] = [];
    const tokens: AckToken[] = [];
    let count = 0;
    let bytes = 0;
    /** Adds what fits of `item`; false once the batch is full. */
    const take = (item: QueuedBatch): boolean => {
      const { events } = item;
      let n = 0;
      while (n < events.length && count + n < max_events) {
        const size = encodedSize(events[n]!);
        // An event larger than max_bytes on its own still goes, alone.
        if (bytes + size > max_bytes && count + n > 0) break;
        bytes += size;
        n++;
      }
      if (n === events.length) {
        parts.push(events);
        tokens.push(item.token);
        count += n;
        return count < max_events && bytes < max_bytes;
      }
      if (n > 0) {
        parts.push(events.slice(0, n));
        tokens.push(item.token);
        count += n;
        // Both parts hold the source batch's token: it is released once for each.
        item.token.retain();
        this.carry = { events: events.slice(n), token: item.token };
      } else this.carry = item;
      return false;
    };
    const first = this.carry ?? (await this.queue.shift());
    this.carry = undefined;
    if (!first) return undefined;
    if (take(first)) {
      const flushAt = Date.now() + timeout;
      for (;;) {
        const next = this.queue.tryShift();
        if (next) {
          if (take(next)) continue;
          break;
        }
        const wait = flushAt - Date.now();
        if (!linger || this.queue.isClosed || wait <= 0 || !(await this.queue.waitForItem(wait))) break;
      }
    }
    this.updateQueueGauges();
    return { events: parts.length === 1 ? parts[0]! : parts.flat(), tokens };
  }

  private get concurrency(): number {
    return this.config.concurrency ?? 1;
  }

  /** Without a buffer: up to `concurrency` batches in flight; each releases its own source batches when delivered
   * (sources commit in read order themselves, see OrderedCommitTracker). */
  private async runDirect(): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    for (;;) {
      // The next batch is gathered while earlier ones are still being written: CPU work overlaps the destination's
      // I/O even with one batch in flight.
      const batch = await this.nextBatch(true);
      while (inFlight.size >= this.concurrency) await Promise.race(inFlight);
      if (!batch) break;
      const { events, tokens } = batch;
      this.inFlight++;
      const sending: Promise<void> = this.deliverer
        .deliver(events)
        .then(
          (delivered) => {
            // Not delivered (shutdown): the batch stays unacknowledged and its sources read it again.
            if (!delivered) return;
            for (const t of tokens) t.release();
            this.metrics.eventsEmitted.inc({ component: this.name }, events.length);
            this.progressed();
          },
          (err: unknown) => {
            this.logger.error('delivery failed unexpectedly; the batch stays unacknowledged', { error: err });
          },
        )
        .finally(() => {
          this.inFlight--;
          inFlight.delete(sending);
        });
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
  }

  /** Pipeline side of a disk buffer: append what arrives (no lingering: the reader side batches) and acknowledge. */
  private async runIntoBuffer(buffer: DiskBuffer): Promise<void> {
    for (;;) {
      const batch = await this.nextBatch(false);
      if (!batch) return;
      for (let attempt = 0; ; attempt++) {
        try {
          await buffer.append(batch.events);
          this.bufferProblem.ok();
          break;
        } catch (err) {
          // Disk full or failing: the events are not acknowledged, so the sources hold them; try again.
          this.bufferProblem.fail(err);
          const delay = backoffDelay(attempt, this.config.retry.initial_backoff, this.config.retry.max_backoff);
          if (!(await sleep(delay, this.abort.signal))) return;
        }
      }
      for (const t of batch.tokens) t.release();
      this.metrics.sinkBufferBytes.set({ component: this.name }, buffer.bytes);
      this.progressed();
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
      this.inFlight++;
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
          this.progressed();
        })
        .finally(() => {
          this.inFlight--;
          inFlight.delete(sending);
        });
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
  }
}
