// The disk buffer every network sink can use: sources are acknowledged once events are durably on disk, a down
// receiver gets everything in order once back (also after a restart), and a full buffer blocks or drops the oldest.
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EncodedEnvelope, type Envelope, eventFact, eventHost, Fact } from '../../src/core/envelope.ts';
import { DiskBuffer } from '../../src/delivery/disk-buffer.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { tempDir, waitFor } from '../support/outrider.ts';
import {
  encodedLikeWorker,
  makeEvents,
  metricValue,
  ndjsonReceived,
  seqs,
  startSink,
  TestReceiver,
} from './support.ts';

const bufferBytesOnDisk = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);

const sinkConfig = (url: string, buffer: Record<string, unknown>) => ({
  uri: `${url}/`,
  batch: { max_events: 25, timeout: 10 },
  retry: { initial_backoff: 50, max_backoff: 200 },
  buffer: { type: 'disk', ...buffer },
});

describe('disk buffer', () => {
  it('acknowledges once on disk, survives a restart during an outage, then delivers everything in order', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    await receiver.down();
    let harness = await startSink('http', sinkConfig(receiver.url, {}), dir);
    for (let b = 0; b < 5; b++) await harness.source.emit(makeEvents(20, 'app', { from: b * 20 }));
    // The receiver is down, yet every event is acknowledged: it is durably in the buffer.
    expect(await waitFor(() => harness.source.acked === 100, 5000)).toBe(true);
    expect(await waitFor(async () => (await metricValue(harness.metrics.sinkBufferOldestAge)) >= 1, 5000)).toBe(true);
    expect(await metricValue(harness.metrics.sinkBufferBytes)).toBeGreaterThan(0);
    await harness.stop(300);
    // A second run with the same state directory delivers what the first could not.
    harness = await startSink('http', sinkConfig(receiver.url, {}), dir);
    await receiver.listen();
    expect(await waitFor(() => ndjsonReceived(receiver).length >= 100, 10_000)).toBe(true);
    const events = ndjsonReceived(receiver);
    // At-least-once: the batch in flight at the stop may come twice; order is kept and nothing is missing.
    const got = seqs(events);
    expect(new Set(got)).toEqual(new Set([...Array(100).keys()]));
    expect([...new Set(got)]).toEqual([...Array(100).keys()]);
    expect(await waitFor(() => bufferBytesOnDisk(join(dir, 'state', 'out', 'buffer')) === 0, 5000)).toBe(true);
    const file = recordOutput('sinks/disk-buffer-restart', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('when full and set to block, holds the sources back and loses nothing', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    await receiver.down();
    const harness = await startSink('http', sinkConfig(receiver.url, { max_bytes: '16KiB', fsync: 'never' }), dir);
    for (let b = 0; b < 10; b++) await harness.source.emit(makeEvents(10, 'app', { from: b * 10 }));
    await new Promise((r) => setTimeout(r, 500));
    const acked = harness.source.acked;
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThan(100);
    expect(bufferBytesOnDisk(join(dir, 'state', 'out', 'buffer'))).toBeLessThanOrEqual(16 * 1024 + 8 * 1024);
    await receiver.listen();
    expect(await waitFor(() => harness.source.acked === 100, 10_000)).toBe(true);
    expect(await waitFor(() => ndjsonReceived(receiver).length >= 100, 10_000)).toBe(true);
    const events = ndjsonReceived(receiver);
    expect([...new Set(seqs(events))]).toEqual([...Array(100).keys()]);
    expect(await metricValue(harness.metrics.eventsLost, { component: 'out' })).toBe(0);
    const file = recordOutput('sinks/disk-buffer-block', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('when full and set to drop_oldest, deletes the oldest events, counts them, and keeps the newest', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    await receiver.down();
    const harness = await startSink(
      'http',
      sinkConfig(receiver.url, { max_bytes: '16KiB', when_full: 'drop_oldest', fsync: 'interval' }),
      dir,
    );
    for (let b = 0; b < 10; b++) await harness.source.emit(makeEvents(10, 'app', { from: b * 10 }));
    expect(await waitFor(() => harness.source.acked === 100, 5000)).toBe(true);
    const dropped = await metricValue(harness.metrics.eventsLost, { component: 'out', reason: 'buffer_full' });
    expect(dropped).toBeGreaterThan(0);
    await receiver.listen();
    // Events already read for delivery before the drop are still delivered: received + dropped covers all.
    expect(await waitFor(() => new Set(seqs(ndjsonReceived(receiver))).size + dropped >= 100, 10_000)).toBe(true);
    const got = [...new Set(seqs(ndjsonReceived(receiver)))];
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(got.at(-1)).toBe(99);
    expect(got.length + dropped).toBe(100);
    const file = recordOutput('sinks/disk-buffer-drop-oldest', ndjsonReceived(receiver));
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });
  it('with requests in parallel, moves its cursor only past batches delivered in full', async () => {
    const dir = tempDir();
    let n = 0;
    // The first request of every four is the slowest: later batches finish before earlier ones.
    const receiver = await new TestReceiver(async () => {
      await new Promise((r) => setTimeout(r, n++ % 4 === 0 ? 300 : 20));
      return { status: 200 };
    }).listen();
    const config = { ...sinkConfig(receiver.url, {}), concurrency: 4, batch: { max_events: 10, timeout: 10 } };
    let harness = await startSink('http', config, dir);
    for (let b = 0; b < 10; b++) await harness.source.emit(makeEvents(10, 'app', { from: b * 10 }));
    expect(await waitFor(() => new Set(seqs(ndjsonReceived(receiver))).size === 100, 10_000)).toBe(true);
    expect(await waitFor(async () => (await metricValue(harness.metrics.sinkBufferBytes)) === 0, 5000)).toBe(true);
    await harness.stop(1000);
    const before = receiver.requests.length;
    harness = await startSink('http', config, dir);
    await new Promise((r) => setTimeout(r, 300));
    // Everything was acknowledged in the buffer: a restart sends nothing again.
    expect(receiver.requests.length).toBe(before);
    const file = recordOutput('sinks/disk-buffer-concurrency', ndjsonReceived(receiver));
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });
});

describe('disk buffer files', () => {
  const options = (dir: string, onCorrupt?: (n: number) => void) => ({
    dir,
    maxBytes: 1024 * 1024,
    whenFull: 'block' as const,
    fsync: 'always' as const,
    fsyncIntervalMs: 1000,
    ...(onCorrupt ? { onCorrupt } : {}),
  });

  it('skips the torn last record of a crashed writer and never appends after it', async () => {
    const dir = tempDir();
    const first = await DiskBuffer.open(options(dir));
    await first.append(makeEvents(3));
    await first.close();
    const [segment] = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    // A write cut short by kill -9: a whole header line, half an event line.
    appendFileSync(join(dir, segment!), '{"b":120,"t":1,"s":"app","f":[1,0,0,99,1,NaN,NaN,NaN,NaN]}\n{"class_uid":0,');
    let corrupt = 0;
    const second = await DiskBuffer.open(
      options(dir, (n) => {
        corrupt += n;
      }),
    );
    await second.append(makeEvents(2, 'app', { from: 3 }));
    const got: number[] = [];
    while (got.length < 5) {
      const batch = (await second.read(100, 1024 * 1024, 0))!;
      // The stored bytes are the envelopes' encoding, byte for byte, with the facts sinks frame them with.
      for (const e of batch.events) {
        const text = e.encoded!;
        expect(e).toBeInstanceOf(EncodedEnvelope);
        expect(eventFact(e, Fact.time)).toBe(JSON.parse(text).time);
        expect(JSON.parse(text)).toEqual(e.event);
      }
      got.push(...seqs(batch.events.map((e) => e.event)));
      await second.acknowledge(batch.end);
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(corrupt).toBe(0);
    expect(second.hasUnread).toBe(false);
    // The first segment was read to its end and deleted; the cursor survives a reopen with nothing left to read.
    expect(readdirSync(dir).filter((n) => n.endsWith('.seg'))).toHaveLength(1);
    await second.close();
    const third = await DiskBuffer.open(options(dir));
    expect(third.hasUnread).toBe(false);
    await third.close();
    recordOutput(
      'sinks/disk-buffer-files',
      makeEvents(5).map((e) => e.event),
    );
  });

  it('counts and skips a record that cannot be parsed', async () => {
    const dir = tempDir();
    const buffer = await DiskBuffer.open(options(dir));
    await buffer.close();
    const [segment] = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    appendFileSync(join(dir, segment!), 'not json\n');
    let corrupt = 0;
    const reopened = await DiskBuffer.open(
      options(dir, (n) => {
        corrupt += n;
      }),
    );
    await reopened.append(makeEvents(1));
    const batch = (await reopened.read(100, 1024 * 1024, 0))!;
    expect(seqs(batch.events.map((e) => e.event))).toEqual([0]);
    expect(corrupt).toBe(1);
    await reopened.close();
  });

  it('reads segments written in the earlier one-line format, and keeps containers, hosts and facts', async () => {
    const dir = tempDir();
    const earlier = makeEvents(2);
    const buffer = await DiskBuffer.open(options(dir));
    await buffer.close();
    const [segment] = readdirSync(dir).filter((n) => n.endsWith('.seg'));
    appendFileSync(
      join(dir, segment!),
      earlier
        .map((e) => {
          const json = JSON.stringify(e.event);
          return `{"l":${json.length},"t":1,"s":"app","e":${json},"c":${JSON.stringify(e.container)}}\n`;
        })
        .join(''),
    );
    const reopened = await DiskBuffer.open(options(dir));
    const later = makeEvents(2, 'app', { from: 2 });
    (later[1]!.event.device as { hostname: string }).hostname = 'peer-9';
    await reopened.append(encodedLikeWorker(later));
    const events: Envelope[] = [];
    while (events.length < 4) {
      const batch = (await reopened.read(100, 1024 * 1024, 0))!;
      events.push(...batch.events);
      await reopened.acknowledge(batch.end);
    }
    expect(events.map((e) => e.container)).toEqual([...earlier, ...later].map((e) => e.container));
    expect(events.map((e) => eventHost(e))).toEqual(['node-1', 'node-1', 'node-1', 'peer-9']);
    expect(events.map((e) => eventFact(e, Fact.time))).toEqual([...earlier, ...later].map((e) => e.event.time));
    expect(seqs(events.map((e) => e.event))).toEqual([0, 1, 2, 3]);
    await reopened.close();
  });

  it('reads back every header field as written: names with escapes, fractional times, several containers', async () => {
    const dir = tempDir();
    const buffer = await DiskBuffer.open(options(dir));
    const other = { id: 'd'.repeat(64), name: 'db "primary" é', runtime: 'containerd' as const };
    const sent = [
      ...makeEvents(2, 'app "quoted" é\\'),
      ...makeEvents(2, 'db', { container: other }),
      ...makeEvents(1, 'app "quoted" é\\', { from: 2 }),
    ];
    sent[1]!.event.time += 0.25;
    (sent[3]!.event.device as { hostname: string }).hostname = 'host "b"';
    await buffer.append(encodedLikeWorker(sent.slice(0, 3)));
    await buffer.append(sent.slice(3));
    const batch = (await buffer.read(100, 1024 * 1024, 0))!;
    expect(batch.events.map((e) => [e.source, e.container, eventHost(e), eventFact(e, Fact.time)])).toEqual(
      sent.map((e) => [e.source, e.container, (e.event.device as { hostname: string }).hostname, e.event.time]),
    );
    expect(batch.events.map((e) => e.event)).toEqual(sent.map((e) => e.event));
    await buffer.close();
  });
});
