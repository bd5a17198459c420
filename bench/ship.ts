// Shipping at full speed: the standard workload (the shared generator's 1,000,000 Docker json-file lines, seed 42)
// through the real CLI with default settings into the shared counting receiver (../shared/bench/sink.mjs), once per
// network sink, measured the way ../shared/bench/fluent-bit.sh measures Fluent Bit: seconds from starting the process
// until the receiver has every record, CPU of all the process's threads and its peak RSS, read at that moment. When
// the Fluent Bit peer is there, its http and OTLP paths run alternately with Outrider's, in the same rounds, and the
// ratios are taken per round. Outrider's file sink runs too: the reference the HEC and bulk paths are held to, and
// where the OCSF bytes per event are counted.
//
// Env: BENCH_LINES (default 1,000,000), BENCH_ROUNDS (default 2), BENCH_SHIP_CASES (case names separated by ';',
// default all), BENCH_TIMEOUT seconds per run (default 300).
import { execFile } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FLUENT_BIT_SCRIPT,
  fluentBitAvailable,
  GENERATOR,
  generate,
  median,
  procStats,
  sleep,
  spawnOutrider,
  startReceiver,
  stopProcess,
  track,
} from './harness.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT ?? 300);
const CONTAINER_ID = 'be'.repeat(32);

/** One measured run: what fluent-bit.sh prints, for either tool. */
interface Run {
  records_per_s: number;
  cpu_us_per_record: number;
  peak_rss_mb: number;
  /** Bytes the receiver got (as sent: compressed when compression is on). */
  wire_bytes?: number;
  /** OCSF bytes per event (file sink: the file's size over the events). */
  ocsf_bytes?: number;
}

interface OutriderCase {
  name: string;
  /** The sink's config (YAML lines under `sinks.out:`), given the receiver's URL and the run's directory. */
  sink: (url: string, dir: string) => string[];
  /** Records the receiver counts per event (a _bulk request has an action line and a document line per event). */
  recordsPerEvent?: number;
  /** Fluent Bit's mode to compare with, side by side. */
  peer?: 'http' | 'otlp';
  /** Options of the shared receiver (e.g. a share of requests it refuses). */
  receiver?: string[];
}

const CASES: OutriderCase[] = [
  { name: 'http NDJSON', peer: 'http', sink: (url) => ['type: http', `uri: ${url}/ingest`] },
  { name: 'otlp_http protobuf', peer: 'otlp', sink: (url) => ['type: otlp_http', `endpoint: ${url}`] },
  { name: 'splunk_hec', sink: (url) => ['type: splunk_hec', `endpoint: ${url}`, 'token: bench'] },
  { name: 'elasticsearch', recordsPerEvent: 2, sink: (url) => ['type: elasticsearch', `endpoint: ${url}`] },
  { name: 'file', sink: (_url, dir) => ['type: file', `path: ${join(dir, 'out', 'events.ndjson')}`] },
  {
    name: 'http NDJSON, compression none',
    sink: (url) => ['type: http', `uri: ${url}/ingest`, 'compression: none'],
  },
  // What the gzip default costs Splunk HEC and _bulk against the file sink (issue 20.3: ≥ 0.9× it).
  {
    name: 'splunk_hec, compression none',
    sink: (url) => ['type: splunk_hec', `endpoint: ${url}`, 'token: bench', 'compression: none'],
  },
  {
    name: 'elasticsearch, compression none',
    recordsPerEvent: 2,
    sink: (url) => ['type: elasticsearch', `endpoint: ${url}`, 'compression: none'],
  },
  { name: 'http NDJSON, concurrency 4', sink: (url) => ['type: http', `uri: ${url}/ingest`, 'concurrency: 4'] },
  {
    name: 'http NDJSON, disk buffer',
    sink: (url) => ['type: http', `uri: ${url}/ingest`, 'buffer: {type: disk}'],
  },
  {
    // Memory under retries (issue 17.3): a receiver answering 503 (Retry-After: 1) to 30 % of requests; 4 in flight,
    // so that the run takes ~2 minutes rather than the ~5 of ~300 one-second waits in a row.
    name: 'http NDJSON, concurrency 4, 30 % answered 503',
    receiver: ['--fail-rate', '0.3'],
    sink: (url) => ['type: http', `uri: ${url}/ingest`, 'concurrency: 4'],
  },
];

/** Outrider, defaults but for the sink, from start until the receiver counted every event. */
async function runOutrider(root: string, log: string, c: OutriderCase, round: number): Promise<Run> {
  const dir = join(root, `${c.name.replace(/\W+/g, '-')}-${round}`);
  mkdirSync(dir, { recursive: true });
  const isFile = c.sink('', dir)[0] === 'type: file';
  const receiver = isFile
    ? undefined
    : await startReceiver(dir, 'receiver', LINES * (c.recordsPerEvent ?? 1), c.receiver);
  const out = join(dir, 'out', 'events.ndjson');
  const config = join(dir, 'outrider.yaml');
  writeFileSync(
    config,
    [
      `data_dir: ${join(dir, 'data')}`,
      'log: {level: warn}',
      'admin: {address: "127.0.0.1:0"}',
      'sources:',
      '  containers:',
      '    type: container_logs',
      `    include: ["${join(log, '..', '..', '*', '*-json.log')}"]`,
      'sinks:',
      '  out:',
      '    inputs: [containers]',
      ...c.sink(receiver?.url ?? '', dir).map((l) => `    ${l}`),
      ...(isFile ? ['    rotate: {max_bytes: 10GiB}'] : []),
    ].join('\n'),
  );
  const started = Date.now();
  const child = spawnOutrider(config);
  try {
    const deadline = started + TIMEOUT_S * 1000;
    let doneAt: number | undefined;
    let wire: number | undefined;
    while (doneAt === undefined) {
      await sleep(isFile ? 100 : 50);
      if (child.exitCode !== null) throw new Error(`${c.name}: outrider exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`${c.name}: not every event arrived within ${TIMEOUT_S} s`);
      if (receiver) {
        const done = receiver.done();
        if (done) {
          doneAt = done.done_ts!;
          wire = done.bytes;
        }
      } else if ((await linesIn(out)) >= LINES) doneAt = Date.now();
    }
    const { cpuSeconds, peakRssMb } = procStats(child.pid!);
    const run: Run = {
      records_per_s: LINES / ((doneAt - started) / 1000),
      cpu_us_per_record: (cpuSeconds / LINES) * 1e6,
      peak_rss_mb: peakRssMb,
    };
    if (wire !== undefined) run.wire_bytes = wire / LINES;
    if (isFile) run.ocsf_bytes = statSync(out).size / LINES;
    return run;
  } finally {
    await stopProcess(child);
    await receiver?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Newline count of a file being appended to (0 while it does not exist), read from the end already counted. */
const counted = new Map<string, { bytes: number; lines: number }>();
async function linesIn(file: string): Promise<number> {
  if (!existsSync(file)) return 0;
  const seen = counted.get(file) ?? { bytes: 0, lines: 0 };
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, seen.bytes);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(10); i >= 0 && i < bytesRead; i = buf.indexOf(10, i + 1)) seen.lines++;
      seen.bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
  counted.set(file, seen);
  return seen.lines;
}

/** Fluent Bit on the same file, through the shared script (its own receiver, its own measurement). */
function runFluentBit(data: string, mode: 'http' | 'otlp'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [FLUENT_BIT_SCRIPT, String(LINES), mode],
      { env: { ...process.env, BENCH_DATA: data, NODE: process.execPath }, timeout: (TIMEOUT_S + 90) * 1000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        if (err) return reject(new Error(`fluent-bit.sh ${mode} failed: ${stderr.trim() || err.message} ${line}`));
        resolve(JSON.parse(line) as Run);
      },
    );
    track(child);
  });
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'ship',
    async run(): Promise<BenchResult[]> {
      if (!existsSync(GENERATOR)) throw new Error(`${GENERATOR} not found: the benchmark needs ../shared/bench`);
      const only = process.env.BENCH_SHIP_CASES?.split(';').map((s) => s.trim());
      const cases = only ? CASES.filter((c) => only.includes(c.name)) : CASES;
      const peer = fluentBitAvailable();
      const root = mkdtempSync(join(tmpdir(), 'outrider-bench-ship-'));
      try {
        const logDir = join(root, 'containers', CONTAINER_ID);
        mkdirSync(logDir, { recursive: true });
        const log = join(logDir, `${CONTAINER_ID}-json.log`);
        await generate(LINES, log);
        // Fluent Bit's script reads BENCH_DATA/docker-N-seed42.log: the same file, linked.
        const data = join(root, 'fb-data');
        mkdirSync(data);
        linkSync(log, join(data, `docker-${LINES}-seed42.log`));
        readFileSync(log); // page-cache warm, as the script does for Fluent Bit
        const runs = new Map<string, Run[]>();
        const add = (name: string, run: Run) => {
          runs.set(name, [...(runs.get(name) ?? []), run]);
          process.stderr.write(`  ${name}: ${JSON.stringify(run)}\n`);
        };
        for (let round = 1; round <= ROUNDS; round++) {
          for (const c of cases) {
            // The peer right before Outrider on the same path: each ratio is taken minutes, not hours, apart.
            if (peer && c.peer) add(`fluent-bit ${c.peer}`, await runFluentBit(data, c.peer));
            add(c.name, await runOutrider(root, log, c, round));
          }
        }
        return results(cases, runs, peer);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

function results(cases: OutriderCase[], runs: Map<string, Run[]>, peer: boolean): BenchResult[] {
  const out: BenchResult[] = [];
  const med = (name: string, key: keyof Run) => median(runs.get(name)!.map((r) => r[key] ?? 0));
  const file = runs.get('file');
  for (const c of cases) {
    const mine = runs.get(c.name)!;
    out.push(
      {
        name: `${c.name}: events/s (median of ${mine.length})`,
        value: Math.round(med(c.name, 'records_per_s')),
        unit: 'events/s',
      },
      { name: `${c.name}: CPU per event`, value: med(c.name, 'cpu_us_per_record'), unit: 'cpu-µs' },
      { name: `${c.name}: peak RSS`, value: med(c.name, 'peak_rss_mb'), unit: 'MB' },
    );
    if (mine[0]!.wire_bytes !== undefined)
      out.push({ name: `${c.name}: bytes sent per event`, value: med(c.name, 'wire_bytes'), unit: 'bytes' });
    if (mine[0]!.ocsf_bytes !== undefined)
      out.push({ name: `${c.name}: OCSF bytes per event`, value: med(c.name, 'ocsf_bytes'), unit: 'bytes' });
    const fb = c.peer && peer ? runs.get(`fluent-bit ${c.peer}`) : undefined;
    if (fb) {
      // Per round: the two runs next to each other.
      const ratios = mine.map((r, i) => r.records_per_s / fb[i]!.records_per_s);
      const cpu = mine.map((r, i) => r.cpu_us_per_record / fb[i]!.cpu_us_per_record);
      out.push(
        {
          name: `fluent-bit ${c.peer}: records/s (median)`,
          value: Math.round(median(fb.map((r) => r.records_per_s))),
          unit: 'records/s',
        },
        {
          name: `fluent-bit ${c.peer}: CPU per record`,
          value: median(fb.map((r) => r.cpu_us_per_record)),
          unit: 'cpu-µs',
        },
        { name: `fluent-bit ${c.peer}: peak RSS`, value: median(fb.map((r) => r.peak_rss_mb)), unit: 'MB' },
        { name: `${c.name}: events/s ÷ Fluent Bit's, same round (median)`, value: median(ratios), unit: '×' },
        { name: `${c.name}: CPU per event ÷ Fluent Bit's, same round (median)`, value: median(cpu), unit: '×' },
      );
    }
    if (file && c.name !== 'file' && !c.name.startsWith('http NDJSON,'))
      out.push({
        name: `${c.name}: events/s ÷ the file sink's (median of rounds)`,
        value: median(mine.map((r, i) => r.records_per_s / (file[i] ?? file[0]!).records_per_s)),
        unit: '×',
      });
  }
  return out;
}
