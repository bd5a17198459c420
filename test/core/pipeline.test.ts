// The core's promises: bounded queues slow the source down instead of growing, and a source's position is
// acknowledged only once every sink that must receive its events has written them.
import { describe, expect, it } from 'vitest';
import { OrderedCommitTracker } from '../../src/core/ack.ts';
import type { SinkCommonConfig } from '../../src/core/common-config.ts';
import type { Sink, Source, SourceContext, Transform } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Pipeline } from '../../src/core/pipeline.ts';
import { BoundedQueue } from '../../src/core/queue.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata } from '../../src/ocsf/event.ts';
import { tempDir } from '../support/outrider.ts';

const common = (inputs: string[], maxEvents = 10, queue = 20): SinkCommonConfig => ({
  inputs,
  batch: { max_events: maxEvents, max_bytes: 1 << 20, timeout: 5 },
  queue: { max_events: queue, max_bytes: 1 << 24 },
  retry: { initial_backoff: 5, max_backoff: 20 },
});

function envelope(i: number, padding = 0): Envelope {
  return {
    event: {
      ...classify('base_event', 99, 1, 'Log'),
      time: i,
      metadata: baseMetadata({ name: 'test' }, 'test'),
      message: String(i),
      ...(padding > 0 ? { raw_data: 'x'.repeat(padding) } : {}),
    },
    source: 'src',
    raw: String(i),
  };
}

/** A source that emits `batches` batches of `size` events and records which batches were acknowledged. */
class ScriptedSource implements Source {
  acked: number[] = [];
  emitted = 0;
  private ctx!: SourceContext;
  constructor(
    private readonly batches: number,
    private readonly size = 5,
    private readonly padding = 0,
  ) {}
  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
  }
  async run(): Promise<void> {
    for (let b = 0; b < this.batches; b++) {
      const events = Array.from({ length: this.size }, (_, i) => envelope(b * this.size + i, this.padding));
      await this.ctx.emit(events, () => this.acked.push(b));
      this.emitted++;
    }
  }
  async stop(): Promise<void> {}
}

class GatedSink implements Sink {
  written: string[] = [];
  failuresLeft = 0;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  close(): void {
    this.gate = new Promise((r) => {
      this.open = r;
    });
  }
  release(): void {
    this.open();
  }
  async write(events: Envelope[]): Promise<void> {
    await this.gate;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('receiver down');
    }
    this.written.push(...events.map((e) => e.event.message!));
  }
  async stop(): Promise<void> {}
}

const options = () => ({
  dataDir: tempDir(),
  hostname: 'h',
  logger: createLogger('error', {}, () => {}),
  metrics: new Metrics(false),
});
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

/** A pipeline of one source `src` and one sink `out`. */
const sourceToSink = (source: Source, sink: Sink, config: SinkCommonConfig, opts = options()) =>
  new Pipeline(
    {
      sources: [{ name: 'src', instance: source }],
      transforms: [],
      sinks: [{ name: 'out', instance: sink, common: config }],
    },
    opts,
  );

describe('pipeline', () => {
  it('a stuck sink stops the source once its bounded queue is full (backpressure), and nothing is acknowledged', async () => {
    const source = new ScriptedSource(100);
    const sink = new GatedSink();
    sink.close();
    const p = sourceToSink(source, sink, common(['src'], 10, 20));
    await p.start();
    const running = source.run();
    await tick(100);
    // queue (20 events = 4 batches) + the batch the sink holds (≤ 10 events = 2 batches) + one waiting push
    expect(source.emitted).toBeLessThanOrEqual(8);
    expect(source.acked).toEqual([]);
    sink.release();
    await running;
    await p.stop(2000);
    expect(sink.written).toHaveLength(500);
    expect(source.acked).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('acknowledges a batch only when every sink wrote it; a failing sink is retried until it does', async () => {
    const source = new ScriptedSource(3);
    const a = new GatedSink();
    const b = new GatedSink();
    b.failuresLeft = 3;
    const p = new Pipeline(
      {
        sources: [{ name: 'src', instance: source }],
        transforms: [],
        sinks: [
          { name: 'a', instance: a, common: common(['src']) },
          { name: 'b', instance: b, common: common(['src']) },
        ],
      },
      options(),
    );
    await p.start();
    b.close();
    await source.run();
    await tick(50);
    expect(a.written).toHaveLength(15);
    expect(source.acked).toEqual([]);
    b.release();
    await p.stop(5000);
    expect(b.written).toHaveLength(15);
    expect(source.acked).toEqual([0, 1, 2]);
  });

  it('events a transform drops count as handled; events it keeps reach the sink', async () => {
    const source = new ScriptedSource(2, 4);
    const sink = new GatedSink();
    const evenOnly: Transform = { process: (events) => events.filter((e) => Number(e.event.message) % 2 === 0) };
    const p = new Pipeline(
      {
        sources: [{ name: 'src', instance: source }],
        transforms: [{ name: 'even', instance: evenOnly, inputs: ['src'] }],
        sinks: [{ name: 'out', instance: sink, common: common(['even']) }],
      },
      options(),
    );
    await p.start();
    await source.run();
    await p.stop(2000);
    expect(sink.written).toEqual(['0', '2', '4', '6']);
    expect(source.acked).toEqual([0, 1]);
  });

  it('shutdown lets go of a source waiting for room in a stuck sink’s full queue, and exits at its deadline', async () => {
    // A source whose stop() waits for its read loop, as real sources do: the loop is blocked in emit by the full
    // queue of a sink that never writes. Before the queue let waiting producers go, stop() never returned.
    const inner = new ScriptedSource(1000);
    let running: Promise<void> = Promise.resolve();
    const source: Source = {
      start: async (ctx) => {
        await inner.start(ctx);
        running = inner.run();
      },
      stop: () => running,
    };
    const sink = new GatedSink();
    sink.close();
    const p = sourceToSink(source, sink, common(['src'], 10, 20));
    await p.start();
    await tick(100);
    expect(inner.emitted).toBeLessThan(1000);
    const started = Date.now();
    expect(await p.stop(300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(inner.acked).toEqual([]);
  });

  it('bounds the queue in bytes too: big events hold the source back before the event count is reached', async () => {
    // ~2 KiB per event: the 8 KiB queue holds three, a 4 KiB batch one.
    const source = new ScriptedSource(50, 1, 2000);
    const sink = new GatedSink();
    sink.close();
    const config: SinkCommonConfig = {
      ...common(['src'], 1000, 1000),
      batch: { max_events: 1000, max_bytes: 4096, timeout: 5 },
      queue: { max_events: 1000, max_bytes: 8 * 1024 },
    };
    const metrics = new Metrics(false);
    const p = sourceToSink(source, sink, config, { ...options(), metrics });
    await p.start();
    const running = source.run();
    await tick(200);
    // the batch the sink holds + the next one gathered + the queue (3) + one waiting push; by count it would be 50
    expect(source.emitted).toBeLessThanOrEqual(6);
    const queued = await metrics.queueBytes.get();
    expect(queued.values[0]!.value).toBeLessThanOrEqual(8 * 1024);
    sink.release();
    await running;
    await p.stop(2000);
    expect(sink.written).toHaveLength(50);
  });

  it('shutdown gives up at its deadline and leaves unwritten batches unacknowledged', async () => {
    const source = new ScriptedSource(2);
    const sink = new GatedSink();
    sink.close();
    const p = sourceToSink(source, sink, common(['src']));
    await p.start();
    await source.run();
    const started = Date.now();
    expect(await p.stop(200)).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(source.acked).toEqual([]);
  });
});

describe('ordered commits', () => {
  it('commits a position only when it and all before it are acknowledged', () => {
    const committed: number[] = [];
    const t = new OrderedCommitTracker<number>((p) => committed.push(p));
    const a1 = t.track(10);
    const a2 = t.track(20);
    const a3 = t.track(30);
    a2();
    expect(committed).toEqual([]);
    a1();
    expect(committed).toEqual([20]);
    a3();
    expect(committed).toEqual([20, 30]);
  });
});

describe('bounded queue', () => {
  it('accepts one oversize item when empty (no deadlock) and wakes waiting producers as space frees', async () => {
    const q = new BoundedQueue<string>({ events: 10, bytes: 1000 });
    await q.push('big', { events: 50, bytes: 10 });
    let pushed = false;
    const p = q.push('next', { events: 1, bytes: 10 }).then(() => {
      pushed = true;
    });
    await tick(10);
    expect(pushed).toBe(false);
    expect(await q.shift()).toBe('big');
    await p;
    expect(pushed).toBe(true);
  });
});
