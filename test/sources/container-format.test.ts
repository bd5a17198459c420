// `format: auto` is decided once per file (per file identity), from its first valid record: one bad line — malformed
// JSON, invalid UTF-8, a NUL run, a line over max_line_bytes, a truncated record — must not change how the lines after
// it are read, wherever decode chunks start (on the main thread and in decode workers).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';

const running: TestOutrider[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

const GOOD_LINES = 600;

function time(i: number): string {
  return new Date(Date.UTC(2026, 10, 23, 0, 0, 0, i)).toISOString();
}

/** The application lines every file holds after its bad line: plain text, JSON, an nginx access line. */
function message(i: number): string {
  if (i % 3 === 0) return JSON.stringify({ level: 'info', msg: `json ${i}` });
  if (i % 3 === 1) return `203.0.113.7 - - [23/Nov/2026:00:00:00 +0000] "GET /p/${i} HTTP/1.1" 200 12 "-" "curl/8.5.0"`;
  return `plain line ${i}`;
}

const dockerRecord = (i: number) =>
  `${JSON.stringify({ log: `${message(i)}\n`, stream: i % 2 ? 'stderr' : 'stdout', time: time(i) })}\n`;
const criRecord = (i: number) => `${time(i)} ${i % 2 ? 'stderr' : 'stdout'} F ${message(i)}\n`;

/** Every kind of bad line of the quality bar, as it would sit in a log of that format. */
function badLines(format: 'docker-json' | 'cri'): Record<string, Buffer> {
  return {
    malformed_json: Buffer.from('{"log": broken json\n'),
    invalid_utf8: Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x41, 0x0a]),
    // What a crash leaves in a log: a run of NUL bytes, longer than max_line_bytes.
    nul_run: Buffer.concat([Buffer.alloc(1536 * 1024, 0), Buffer.from('\n')]),
    huge_line: Buffer.from(
      format === 'cri'
        ? `${time(0)} stdout F ${'h'.repeat(1100 * 1024)}\n`
        : `${JSON.stringify({ log: `${'h'.repeat(1100 * 1024)}\n`, stream: 'stdout', time: time(0) })}\n`,
    ),
    truncated: Buffer.from(format === 'cri' ? `${time(0)} stdo\n` : '{"log":"half written","stre\n'),
  };
}

interface Event {
  message: string;
  raw_data: string;
  metadata: { log_source: string; uid?: string };
  device: { container?: unknown };
  unmapped?: { outrider_problems?: string[] };
}

/** An event without what depends on the file it came from (its path and container, its position). */
function comparable(e: Event): unknown {
  const { log_source: _path, uid: _uid, ...metadata } = e.metadata;
  const { container: _container, ...device } = e.device;
  return { ...e, metadata, device };
}

describe('format: auto is decided once per file', () => {
  for (const format of ['docker-json', 'cri'] as const) {
    for (const threads of [0, 2]) {
      it(`${format}, decode_threads ${threads}: every good line after a bad one decodes as without it`, async () => {
        const dir = tempDir();
        const record = format === 'cri' ? criRecord : dockerRecord;
        let good = '';
        for (let i = 0; i < GOOD_LINES; i++) good += record(i);
        const files = new Map<string, Buffer>([['baseline', Buffer.from(good)]]);
        for (const [kind, bad] of Object.entries(badLines(format)))
          files.set(kind, Buffer.concat([bad, Buffer.from(good)]));
        const paths = new Map<string, string>();
        let n = 0;
        for (const [kind, content] of files) {
          n++;
          const path =
            format === 'cri'
              ? join(dir, 'pods', `ns_pod-${kind.replace('_', '-')}_uid${n}`, 'app', '0.log')
              : join(dir, 'containers', `${n}`.repeat(64), `${`${n}`.repeat(64)}-json.log`);
          mkdirSync(join(path, '..'), { recursive: true });
          writeFileSync(path, content);
          paths.set(path, kind);
        }
        const out = join(dir, 'out', 'events.ndjson');
        const o = await startTestOutrider(
          {
            sources: {
              containers: {
                type: 'container_logs',
                include: [
                  format === 'cri' ? join(dir, 'pods', '*', '*', '*.log') : join(dir, 'containers', '*', '*.log'),
                ],
                // Small reads: the good lines are spread over many decode chunks, on every worker.
                read_chunk_bytes: '16KiB',
                decode_threads: threads,
                poll_interval: '50ms',
              },
            },
            sinks: { out: { type: 'file', inputs: ['containers'], path: out, batch: { timeout: '20ms' } } },
          },
          join(dir, 'data'),
        );
        running.push(o);
        const total = files.size * GOOD_LINES + (files.size - 1);
        expect(await waitFor(() => readNdjson(out).length >= total, 30_000)).toBe(true);
        const events = readNdjson<Event>(out);
        expect(events).toHaveLength(total);
        const byKind = new Map<string, Event[]>();
        for (const e of events) {
          const kind = paths.get(e.metadata.log_source)!;
          byKind.set(kind, [...(byKind.get(kind) ?? []), e]);
        }
        const baseline = byKind.get('baseline')!.map(comparable);
        expect(baseline).toHaveLength(GOOD_LINES);
        expect(
          byKind.get('baseline')!.filter((e) => e.unmapped?.outrider_problems),
          'the good lines decode cleanly',
        ).toEqual([]);
        for (const kind of Object.keys(badLines(format))) {
          const [bad, ...rest] = byKind.get(kind)!;
          // The bad line is kept raw and flagged...
          expect(bad!.unmapped?.outrider_problems?.length, kind).toBeGreaterThan(0);
          expect(bad!.raw_data.length, kind).toBeGreaterThan(0);
          // ...and every line after it decodes exactly as in the file without it.
          expect(rest.map(comparable), kind).toEqual(baseline);
        }
        const failed = await o.metrics.registry.getSingleMetricAsString('outrider_input_kept_raw_total');
        const counted = [...failed.matchAll(/^outrider_input_kept_raw_total\{[^}]*\} (\d+)$/gm)].reduce(
          (sum, m) => sum + Number(m[1]),
          0,
        );
        expect(counted).toBe(files.size - 1);
        await o.stop();
        const v = validateOcsf(recordOutput(`sources/container-format-${format}-${threads}`, events));
        if (v) expect(v.failed, v.output).toBe(0);
      }, 90_000);
    }
  }
});
