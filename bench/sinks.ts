// Throughput of each HTTP sink on loopback into ../shared/bench/sink.mjs (a counting receiver in its own process),
// and the cost of the disk buffer (off, fsync always, fsync interval). Events are made in memory once per case, so
// the figure is the sink path: queue → batch → (disk buffer) → encode → gzip → HTTP → acknowledgement.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Source, SourceContext } from '../src/core/component.ts';
import type { Envelope } from '../src/core/envelope.ts';
import { Pipeline } from '../src/core/pipeline.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { mapContainerLine } from '../src/ocsf/mappers/container-log.ts';
import { findFactory } from '../src/registry.ts';
import type { BenchResult, BenchSuite } from './types.ts';

// ../shared beside the repository, seen from bench/ (run from source) or dist/bench/ (npm run bench).
const RECEIVER =
  [join(import.meta.dirname, '..', '..', 'shared'), join(import.meta.dirname, '..', '..', '..', 'shared')]
    .map((dir) => join(dir, 'bench', 'sink.mjs'))
    .find((file) => existsSync(file)) ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'bench', 'sink.mjs');
const EVENTS = Number(process.env.BENCH_SINK_EVENTS ?? 200_000);
const EMIT_BATCH = 1000;
const CONTAINER = { id: 'be'.repeat(32), name: 'web-1', runtime: 'docker' as const };

/** Docker-log-like events: JSON app logs, nginx access lines and sshd lines, as the standard workload mixes them. */
function makeEnvelopes(count: number): Envelope[] {
  const start = Date.UTC(2026, 10, 23, 9);
  const out = new Array<Envelope>(count);
  for (let i = 0; i < count; i++) {
    const kind = i % 10;
    const message =
      kind < 6
        ? JSON.stringify({
            level: kind === 0 ? 'warn' : 'info',
            msg: 'request served',
            path: `/api/items/${i}`,
            ms: i % 97,
          })
        : kind < 9
          ? `10.0.${i % 255}.${i % 253} - - [23/Nov/2026:09:00:00 +0000] "GET /static/app.${i}.js HTTP/1.1" 200 5123 "-" "Mozilla/5.0"`
          : `Failed password for invalid user admin from 203.0.113.${i % 250} port ${1024 + (i % 60000)} ssh2`;
    const time = start + i;
    const raw = JSON.stringify({ log: `${message}\n`, stream: 'stdout', time: new Date(time).toISOString() });
    const { event } = mapContainerLine({
      format: 'docker-json',
      message,
      time,
      raw,
      stream: 'stdout',
      hostname: 'bench',
      container: CONTAINER,
    });
    out[i] = { event, source: 'bench', raw, container: CONTAINER };
  }
  return out;
}

class BenchSource implements Source {
  ctx: SourceContext | undefined;
  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
  }
  async stop(): Promise<void> {}
}

async function startReceiver(
  dir: string,
  name: string,
  records: number,
): Promise<{ url: string; doneFile: string; stop(): void }> {
  const portFile = join(dir, `${name}.port`);
  const doneFile = join(dir, `${name}.done`);
  const child = spawn(
    process.execPath,
    [
      RECEIVER,
      '--port',
      '0',
      '--port-file',
      portFile,
      '--expect',
      String(records),
      '--done-file',
      doneFile,
      '--max-seconds',
      '300',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error('bench receiver did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`, doneFile, stop: () => child.kill() };
}

/** Events/s from the first emit until the receiver counted every event. */
async function measure(
  dir: string,
  name: string,
  type: string,
  config: (url: string) => Record<string, unknown>,
): Promise<number> {
  // The counting receiver counts NDJSON lines: a _bulk request has an action line and a document line per event.
  const receiver = await startReceiver(dir, name, type === 'elasticsearch' ? 2 * EVENTS : EVENTS);
  const factory = findFactory('sink', type)!;
  const parsed = factory.configSchema.parse({ inputs: ['bench'], ...config(receiver.url) }) as Record<string, unknown>;
  const source = new BenchSource();
  const pipeline = new Pipeline(
    {
      sources: [{ name: 'bench', instance: source }],
      transforms: [],
      sinks: [{ name: 'out', instance: factory.create(parsed as never) as never, common: parsed as never }],
    },
    { dataDir: join(dir, name), hostname: 'bench', logger: createLogger('error'), metrics: new Metrics(false) },
  );
  const envelopes = makeEnvelopes(EVENTS);
  await pipeline.start();
  const started = Date.now();
  try {
    for (let i = 0; i < envelopes.length; i += EMIT_BATCH) await source.ctx!.emit(envelopes.slice(i, i + EMIT_BATCH));
    const deadline = Date.now() + 240_000;
    for (;;) {
      // The receiver may be mid-write: only a whole line counts.
      const text = existsSync(receiver.doneFile) ? readFileSync(receiver.doneFile, 'utf8') : '';
      if (text.endsWith('\n')) return EVENTS / (((JSON.parse(text) as { done_ts: number }).done_ts - started) / 1000);
      if (Date.now() > deadline) throw new Error(`${name}: the receiver did not get every event`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await pipeline.stop(5000);
    receiver.stop();
  }
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'sinks',
    async run(): Promise<BenchResult[]> {
      if (!existsSync(RECEIVER)) throw new Error(`${RECEIVER} not found: the benchmark needs ../shared/bench`);
      const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-sinks-'));
      const batch = { max_events: 5000, timeout: 200 };
      const unit = 'events/s';
      const results: BenchResult[] = [];
      const cases: Array<[string, string, (url: string) => Record<string, unknown>]> = [
        ['http NDJSON, gzip', 'http', (url) => ({ uri: `${url}/ingest`, batch })],
        ['http NDJSON, no compression', 'http', (url) => ({ uri: `${url}/ingest`, compression: 'none', batch })],
        ['http NDJSON, gzip, concurrency 2', 'http', (url) => ({ uri: `${url}/ingest`, concurrency: 2, batch })],
        ['otlp_http protobuf, gzip', 'otlp_http', (url) => ({ endpoint: url, batch })],
        ['otlp_http JSON, gzip', 'otlp_http', (url) => ({ endpoint: url, encoding: 'json', batch })],
        ['splunk_hec, gzip', 'splunk_hec', (url) => ({ endpoint: url, token: 'bench', batch })],
        ['elasticsearch _bulk, gzip', 'elasticsearch', (url) => ({ endpoint: url, batch })],
        [
          'http NDJSON, gzip, disk buffer fsync always',
          'http',
          (url) => ({ uri: `${url}/ingest`, batch, buffer: { type: 'disk', fsync: 'always' } }),
        ],
        [
          'http NDJSON, gzip, disk buffer fsync interval',
          'http',
          (url) => ({ uri: `${url}/ingest`, batch, buffer: { type: 'disk', fsync: 'interval' } }),
        ],
      ];
      try {
        for (const [name, type, config] of cases) {
          process.stderr.write(`  ${name}…\n`);
          results.push({ name, value: Math.round(await measure(dir, name.replace(/\W+/g, '-'), type, config)), unit });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return results;
    },
  };
}
