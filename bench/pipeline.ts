// The standard workload (bench/README in ../shared): the generator's 1,000,000-line Docker json-file log through
// the real CLI: tail → OCSF → file sink (fsync on). Reports events/s (over the whole run, and sustained: while the
// pipeline is under full load), CPU-seconds per million events and peak RSS of the Outrider process, plus plain Node
// reading and JSON-parsing the same file as a yardstick.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { cpuByThreadName, procStats } from './harness.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const REPO = join(import.meta.dirname, '..', '..');
const GENERATOR = join(REPO, '..', 'shared', 'bench', 'gen-docker-logs.mjs');
const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');
const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const CONTAINER_ID = 'be'.repeat(32);

/** What each of the process's threads is, by the name Node and V8 give it. */
const THREAD_KINDS: Record<string, string> = {
  MainThread: 'main thread (read, order, sink, acknowledge)',
  WorkerThread: 'decode workers (parse, map, mask, encode)',
  'libuv-worker': 'libuv pool (file reads, writes, fsync)',
  V8Worker: 'V8 helpers (GC, compiler)',
};

/** Share of the events between which the sustained rate is taken: past start-up and JIT warm-up, and before the
 * last batch, which waits for the sink's batch timeout (1 s) once the input has run dry. */
const SUSTAINED_FROM = 0.1;
const SUSTAINED_TO = 0.9;

/** One end of the sustained window: the first sample (every 100 ms) at or past its share of the events. */
interface WindowMark {
  ms: number;
  done: number;
  cpu: Map<string, number>;
}

async function emittedBySink(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = /outrider_events_emitted_total\{component="archive"\} (\d+(?:\.\d+)?(?:e\+\d+)?)/.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Plain Node: read the file line by line and JSON.parse each line, nothing else. */
async function plainNodeParse(file: string): Promise<number> {
  const started = performance.now();
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    JSON.parse(line);
    n++;
  }
  return n / ((performance.now() - started) / 1000);
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'pipeline',
    async run(): Promise<BenchResult[]> {
      if (!existsSync(GENERATOR)) throw new Error(`${GENERATOR} not found: the benchmark needs ../shared/bench`);
      const dir = mkdtempSync(join(tmpdir(), 'outrider-bench-'));
      try {
        const logDir = join(dir, 'containers', CONTAINER_ID);
        mkdirSync(logDir, { recursive: true });
        const log = join(logDir, `${CONTAINER_ID}-json.log`);
        execFileSync(process.execPath, [GENERATOR, String(LINES), log, '--seed', '42']);
        const port = 19000 + Math.floor(Math.random() * 1000);
        const config = join(dir, 'outrider.yaml');
        writeFileSync(
          config,
          [
            `data_dir: ${join(dir, 'data')}`,
            'log: {level: warn}',
            `admin: {address: "127.0.0.1:${port}"}`,
            'sources:',
            '  containers:',
            '    type: container_logs',
            `    include: ["${join(dir, 'containers', '*', '*-json.log')}"]`,
            'sinks:',
            '  archive:',
            '    type: file',
            '    inputs: [containers]',
            `    path: ${join(dir, 'out', 'events.ndjson')}`,
            '    rotate: {max_bytes: 10GiB}',
            // What masking costs: BENCH_REDACTION=off runs the same workload without it.
            ...(process.env.BENCH_REDACTION === 'off' ? ['redaction: {enabled: false}'] : []),
          ].join('\n'),
        );
        // The same settings as every launcher (bin, npm start, dev.sh, Dockerfile).
        const child = spawn(
          process.execPath,
          ['--max-semi-space-size=4', '--optimize-for-size', CLI, 'run', '--config', config],
          {
            env: { ...process.env, MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' },
            stdio: ['ignore', 'ignore', 'inherit'],
          },
        );
        const started = performance.now();
        // The rate and where the CPU goes while the pipeline is under full load: per-thread CPU at the window's ends.
        let windowStart: WindowMark | undefined;
        let windowEnd: WindowMark | undefined;
        let done = 0;
        while (done < LINES) {
          await new Promise((r) => setTimeout(r, 100));
          if (child.exitCode !== null) throw new Error(`outrider exited with ${child.exitCode}`);
          done = await emittedBySink(port);
          const ms = performance.now();
          if (!windowStart && done >= LINES * SUSTAINED_FROM)
            windowStart = { ms, done, cpu: cpuByThreadName(child.pid!, THREAD_KINDS) };
          if (!windowEnd && done >= LINES * SUSTAINED_TO)
            windowEnd = { ms, done, cpu: cpuByThreadName(child.pid!, THREAD_KINDS) };
        }
        // The loop ends with every event emitted: both ends were reached.
        const from = windowStart!;
        const to = windowEnd!;
        const seconds = (performance.now() - started) / 1000;
        const { cpuSeconds, peakRssMb } = procStats(child.pid!);
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
        const plain = await plainNodeParse(log);
        const perThread: BenchResult[] = [];
        if (to.done > from.done) {
          const events = to.done - from.done;
          let total = 0;
          for (const [kind, seconds] of to.cpu) {
            const used = seconds - (from.cpu.get(kind) ?? 0);
            total += used;
            perThread.push({ name: `sustained: CPU per event, ${kind}`, value: (used / events) * 1e6, unit: 'cpu-µs' });
          }
          perThread.sort((a, b) => b.value - a.value);
          perThread.unshift(
            { name: 'sustained: CPU per event, all threads', value: (total / events) * 1e6, unit: 'cpu-µs' },
            {
              name: `sustained: cores busy with Outrider (of ${availableParallelism()})`,
              value: total / ((to.ms - from.ms) / 1000),
              unit: 'cores',
            },
          );
        }
        return [
          {
            name: `tail → OCSF → file sink, ${LINES} lines (wall time incl. start-up)`,
            value: LINES / seconds,
            unit: 'events/s',
          },
          {
            name: `sustained: from ${SUSTAINED_FROM * 100} % to ${SUSTAINED_TO * 100} % of the events emitted`,
            value: (to.done - from.done) / ((to.ms - from.ms) / 1000),
            unit: 'events/s',
          },
          ...perThread,
          { name: 'CPU per million events', value: (cpuSeconds / LINES) * 1e6, unit: 'cpu-s' },
          { name: 'peak RSS of the Outrider process', value: peakRssMb, unit: 'MB' },
          { name: 'yardstick: plain Node read + JSON.parse of the same file', value: plain, unit: 'lines/s' },
        ];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
