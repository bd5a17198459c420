// Decode workers must change nothing but speed: the same files give the same events, in the same order, whether
// lines are decoded on the main thread or in workers. Tiny reads put chunk boundaries everywhere, inside Docker's
// partial records, CRI P/F sequences, multiline groups and bad lines, so that the workers' assumption (a chunk
// starts clean) is wrong often and must be caught.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SourceContext } from '../../src/core/component.ts';
import { type EncodedEnvelope, FACTS } from '../../src/core/envelope.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { DecodePool } from '../../src/sources/container_logs/decode-pool.ts';
import { type DecodedBatch, DecodingLost } from '../../src/sources/tail/file-decoding.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import {
  readNdjson,
  startTestOutrider,
  type TestOutrider,
  tailDockerLog,
  tempDir,
  waitFor,
} from '../support/outrider.ts';

const ID = 'c'.repeat(64);
const running: TestOutrider[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

function time(i: number): string {
  return new Date(Date.UTC(2026, 10, 23, 0, 0, 0, i)).toISOString();
}

/** A json-file log with every kind of record: plain, JSON, split (16 KiB parts), stack traces, bad ones. */
function dockerLog(): { text: string; messages: number } {
  let text = '';
  let messages = 0;
  for (let i = 0; i < 400; i++) {
    const kind = i % 10;
    if (kind === 3) {
      // A line Docker split into three records: only the last ends with a newline.
      const big = `big-${i}-${'x'.repeat(40_000)}`;
      for (let at = 0; at < big.length; at += 16_384) {
        const last = at + 16_384 >= big.length;
        text += `${JSON.stringify({ log: big.slice(at, at + 16_384) + (last ? '\n' : ''), stream: 'stdout', time: time(i) })}\n`;
      }
    } else if (kind === 5) {
      text += `{"log":"broken record ${i}\n`;
    } else if (kind === 6) {
      text += `${JSON.stringify({ log: `Exception in thread "main" java.lang.IllegalStateException: ${i}\n`, stream: 'stderr', time: time(i) })}\n`;
      for (let f = 0; f < 3; f++)
        text += `${JSON.stringify({ log: `\tat com.example.App.run(App.java:${f})\n`, stream: 'stderr', time: time(i) })}\n`;
      messages += 3;
    } else if (kind === 8) {
      text += `${JSON.stringify({ log: `${JSON.stringify({ level: 'warn', msg: `json ${i}`, token_count: i })}\n`, stream: 'stdout', time: time(i) })}\n`;
    } else {
      text += `${JSON.stringify({ log: `203.0.113.7 - - [23/Nov/2026:00:00:00 +0000] "GET /p/${i} HTTP/1.1" 200 12 "-" "curl/8.5.0"\n`, stream: 'stdout', time: time(i) })}\n`;
    }
    messages++;
  }
  // Half-written last line: emitted flagged when the file is handed over, so not counted as awaited.
  return { text, messages };
}

async function decodeWith(threads: number, text: string, expected: number, extra: Record<string, unknown> = {}) {
  const { outrider: o, out } = await tailDockerLog(
    text,
    { read_chunk_bytes: 4096, poll_interval: '50ms', decode_threads: threads, ...extra },
    ID,
  );
  running.push(o);
  await waitFor(() => readNdjson(out).length >= expected, 30_000);
  const events = readNdjson<Record<string, unknown>>(out);
  await o.stop();
  running.splice(running.indexOf(o), 1);
  const redone = o.logs.filter((l) => l.includes('chunks decoded again')).length;
  return { events, out, redone };
}

/** Events of bad records carry the time they were read: not comparable between two runs. */
function comparable(events: Array<Record<string, unknown>>): unknown[] {
  return events.map((e) => {
    const copy = structuredClone(e) as Record<string, unknown> & { metadata: Record<string, unknown> };
    if (typeof copy.raw_data === 'string' && copy.raw_data.startsWith('{"log":"broken')) delete copy.time;
    delete copy.metadata.log_source;
    return copy;
  });
}

describe('decode workers', () => {
  it('give the same events in the same order as decoding on the main thread (json-file, split records, bad lines)', async () => {
    const { text, messages } = dockerLog();
    const expected = messages - 40 * 3; // stack frames are their own events without multiline
    const local = await decodeWith(0, text, messages);
    const workers = await decodeWith(2, text, messages);
    // decode_threads: auto starts more than two on bigger machines: the same events, in the same order.
    const more = await decodeWith(5, text, messages);
    expect(comparable(more.events)).toEqual(comparable(local.events));
    expect(workers.events.length).toBe(local.events.length);
    expect(local.events.length).toBeGreaterThanOrEqual(expected);
    expect(comparable(workers.events)).toEqual(comparable(local.events));
    // The assumption that a chunk starts clean was wrong at split records, and caught.
    expect(workers.redone).toBeGreaterThan(0);
    // Every split line was reassembled whole by the workers too.
    const big = workers.events.filter((e) => String(e.message).startsWith('big-'));
    expect(big).toHaveLength(40);
    for (const e of big) expect(String(e.message)).toMatch(/^big-\d+-x{40000}$/);
    const v = validateOcsf(recordOutput('sources/decode-workers', workers.events));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('join multiline groups across chunk boundaries like the main thread does', async () => {
    const { text, messages } = dockerLog();
    const multiline = { mode: 'continue_through', condition_pattern: '^\\s+at ', timeout: '200ms' };
    const joined = messages - 40 * 3;
    const local = await decodeWith(0, text, joined, { multiline });
    const workers = await decodeWith(2, text, joined, { multiline });
    expect(comparable(workers.events)).toEqual(comparable(local.events));
    const traces = workers.events.filter((e) => String(e.message).startsWith('Exception'));
    expect(traces).toHaveLength(40);
    for (const t of traces) expect(String(t.message).split('\n')).toHaveLength(4);
  });

  it('keep CRI partial (P) and final (F) records of one line together across chunks', async () => {
    const dir = tempDir();
    let text = '';
    for (let i = 0; i < 300; i++) {
      const t = `2026-11-23T00:00:00.${String(i).padStart(9, '0')}Z`;
      if (i % 4 === 0)
        text += `${t} stdout P part-a-${i}-${'y'.repeat(3000)}\n${t} stdout P -part-b\n${t} stdout F -end\n`;
      else text += `${t} stdout F line ${i}\n`;
    }
    const run = async (threads: number) => {
      // The same pod log path layout in both runs (its attempt is on every event): one directory each.
      const podDir = join(dir, `pods-${threads}`, 'ns_pod_0123-uid', 'app');
      mkdirSync(podDir, { recursive: true });
      const out = join(dir, `out-${threads}`, 'events.ndjson');
      const data = join(dir, `data-${threads}`);
      writeFileSync(join(podDir, '0.log'), text);
      const o = await startTestOutrider(
        {
          sources: {
            pods: {
              type: 'container_logs',
              format: 'cri',
              include: [join(podDir, '0.log')],
              read_chunk_bytes: 1024,
              decode_threads: threads,
            },
          },
          sinks: { out: { type: 'file', inputs: ['pods'], path: out, batch: { timeout: '20ms' } } },
        },
        data,
      );
      running.push(o);
      await waitFor(() => readNdjson(out).length >= 300, 30_000);
      await o.stop();
      running.splice(running.indexOf(o), 1);
      return readNdjson<Record<string, unknown>>(out);
    };
    const local = await run(0);
    const workers = await run(2);
    expect(local).toHaveLength(300);
    expect(comparable(workers)).toEqual(comparable(local));
    const joined = workers.filter((e) => String(e.message).startsWith('part-a-'));
    expect(joined).toHaveLength(75);
    for (const e of joined) expect(String(e.message)).toMatch(/^part-a-\d+-y{3000}-part-b-end$/);
  });
});

/** A json-file log of `n` records, "line 0" to "line n-1". */
function numberedLines(n: number): Buffer {
  let text = '';
  for (let i = 0; i < n; i++) text += `${JSON.stringify({ log: `line ${i}\n`, stream: 'stdout', time: time(i) })}\n`;
  return Buffer.from(text);
}

/** The messages of decoded batches, in the order taken. */
function messageCollector(): { messages: string[]; take: (batches: DecodedBatch[]) => void } {
  const messages: string[] = [];
  const take = (batches: DecodedBatch[]) => {
    for (const b of batches) for (const e of b.envelopes) messages.push(String((e as EncodedEnvelope).event.message));
  };
  return { messages, take };
}

/** A pool decoding plain json-file lines, driven directly (no engine, no sinks); no workers: the main thread's. With
 * workers, every chunk goes to them unless `smallChunkBytes` lets small ones stay on the main thread. */
function testPool(
  log: (line: string) => void,
  workers = 2,
  smallChunkBytes = 0,
): { ctx: SourceContext; pool: DecodePool } {
  const ctx = {
    name: 'containers',
    hostname: 'test',
    stateDir: tempDir(),
    logger: createLogger('debug', {}, log),
    metrics: new Metrics(),
    setHealthy: () => undefined,
    emit: async () => undefined,
  } satisfies SourceContext;
  const settings = {
    format: 'docker-json',
    max_line_bytes: 1 << 20,
    partial_timeout: 5000,
    content: 'none',
    raw_data: 'when_lossy',
  } as const;
  return { ctx, pool: new DecodePool(workers, settings, ctx, 128 * 1024, smallChunkBytes) };
}

describe('a decode worker that dies', () => {
  it('is replaced, and its files are read again from the last settled position: every line once, in order', async () => {
    const logs: string[] = [];
    const { ctx, pool } = testPool((l) => logs.push(l));
    try {
      const file = numberedLines(6000);
      const decoding = pool.fileDecoding(`/x/${ID}/${ID}-json.log`);
      const { messages, take } = messageCollector();
      let offset = 0;
      let killed = false;
      let restarts = 0;
      for (;;) {
        try {
          if (offset >= file.length) {
            take(await decoding.drain());
            break;
          }
          // Small chunks, then (once) one big chunk whose job is surely still running when both workers die.
          const size = !killed && messages.length > 500 ? 200_000 : 2048;
          const { consumed, batches } = await decoding.decode(file.subarray(offset, offset + size), offset);
          offset += consumed;
          take(batches);
          if (size > 2048) {
            killed = true;
            await Promise.all([pool.workerIn(0).terminate(), pool.workerIn(1).terminate()]);
          }
        } catch (err) {
          if (!(err instanceof DecodingLost)) throw err;
          restarts++;
          offset = err.resumeAt;
        }
      }
      expect(killed).toBe(true);
      expect(restarts).toBe(1);
      expect(messages).toEqual(Array.from({ length: 6000 }, (_, i) => `line ${i}`));
      expect(logs.some((l) => l.includes('decode worker failed; starting a new one'))).toBe(true);
      const restarted = (await ctx.metrics.decodeWorkerEvents.get()).values.find((v) => v.labels.event === 'restarted');
      expect(restarted?.value).toBe(2);
    } finally {
      await pool.close();
    }
  });
});

describe('acknowledged batches', () => {
  it.each([
    ['two workers', 2],
    ['the main thread (no workers)', 0],
  ])(
    'give their bytes back to %s: later events are still every line once, in order; reading a recycled event throws',
    async (_, workers) => {
      const { pool } = testPool(() => undefined, workers);
      try {
        let text = '';
        for (let i = 0; i < 20_000; i++)
          text += `${JSON.stringify({ log: `line ${i} ${'z'.repeat(i % 97)}\n`, stream: 'stdout', time: time(i) })}\n`;
        const file = Buffer.from(text);
        const decoding = pool.fileDecoding(`/x/${ID}/${ID}-json.log`);
        const messages: string[] = [];
        const released: EncodedEnvelope[] = [];
        const take = async (batches: DecodedBatch[]) => {
          for (const b of batches) {
            for (const e of b.envelopes as EncodedEnvelope[]) {
              messages.push(String(JSON.parse(e.line!.toString()).message));
            }
            released.push(...(b.envelopes as EncodedEnvelope[]));
            // As the engine does once every sink acknowledged the batch.
            b.release?.();
          }
          // Let the recycled buffers reach the workers before their next jobs.
          await new Promise((r) => setTimeout(r, 5));
        };
        let offset = 0;
        while (offset < file.length) {
          const { consumed, batches } = await decoding.decode(file.subarray(offset, offset + 16_384), offset);
          offset += consumed;
          await take(batches);
        }
        await take(await decoding.drain());
        expect(messages).toEqual(Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'z'.repeat(i % 97)}`));
        expect(() => released[0]!.line).toThrow(/acknowledged and recycled/);
        expect(() => released[0]!.event).toThrow(/acknowledged and recycled/);
        // A few lines (a quiet container) take a buffer of their own size, not a chunk-sized one: many such replies
        // may wait for a sink's batch at once.
        const quiet = pool.fileDecoding(`/y/${ID}/${ID}-json.log`);
        const few = Buffer.from(text.split('\n').slice(0, 3).join('\n') + '\n');
        const small = [...(await quiet.decode(few, 0)).batches, ...(await quiet.drain())].filter(
          (b) => b.envelopes.length,
        );
        expect(small).toHaveLength(1);
        const lines = small[0]!.envelopes.map((e) => (e as EncodedEnvelope).line!);
        // Their JSON, then (8-byte aligned) a row of facts per event.
        const json = lines.reduce((n, l) => n + l.length, 0);
        expect(lines[0]!.buffer.byteLength).toBe(Math.ceil(json / 8) * 8 + lines.length * FACTS * 8);
      } finally {
        await pool.close();
      }
    },
  );
});

describe('small chunks', () => {
  it('are decoded on the main thread, big ones by workers started only then: every line once, in order', async () => {
    const logs: string[] = [];
    const { pool } = testPool((l) => logs.push(l), 2, 64 * 1024);
    try {
      const file = numberedLines(12_000);
      const decoding = pool.fileDecoding(`/x/${ID}/${ID}-json.log`);
      const { messages, take } = messageCollector();
      const started = () => logs.some((l) => l.includes('decode workers started'));
      let offset = 0;
      // A quiet container: a few lines at a time.
      while (offset < file.length / 4) {
        const { consumed, batches } = await decoding.decode(file.subarray(offset, offset + 2048), offset);
        offset += consumed;
        take(batches);
      }
      take(await decoding.drain());
      expect(started()).toBe(false);
      // Then it is being caught up (big chunks, to the workers), with small chunks in between whose decoding on the
      // main thread assumes a clean start while the workers' jobs are still out.
      let big = true;
      while (offset < file.length) {
        const { consumed, batches } = await decoding.decode(
          file.subarray(offset, offset + (big ? 100_000 : 1500)),
          offset,
        );
        offset += consumed;
        big = !big;
        take(batches);
      }
      take(await decoding.drain());
      expect(started()).toBe(true);
      expect(messages).toEqual(Array.from({ length: 12_000 }, (_, i) => `line ${i}`));
    } finally {
      await pool.close();
    }
  });
});
