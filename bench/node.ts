// The load a node carries: many containers, each writing a little. BENCH_NODE_FILES container log files (default
// 10) get bursts of BENCH_NODE_BURST lines (default 20, the shared generator's mix, seed 42) every
// BENCH_NODE_INTERVAL ms (default 150) — about 1,330 lines/s in all — for BENCH_NODE_SECONDS (default 60), from a
// writer in its own process, shipped over HTTP (defaults: NDJSON, gzip) into the shared counting receiver. Before the
// writing starts the agent idles for BENCH_NODE_IDLE seconds (default 10): its CPU then is the idle cost, start-up's
// own work included; it is measured again, for as long, from 5 s after the last line was delivered. Reported:
// CPU per line (all threads, from the first write until the receiver has every line), steady RSS (median of the
// samples of the second half of the writing) and peak RSS, and the same for Fluent Bit (../shared/peers) on the same
// files, alternately, BENCH_ROUNDS times (default 2). BENCH_NODE_OUTRIDER=0 leaves Outrider out, BENCH_NODE_PEER=0 Fluent
// Bit; BENCH_NODE_SOURCE holds extra container_logs keys (YAML flow map entries, e.g. "decode_threads: 0") to
// compare settings.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuByThreadName,
  FLUENT_BIT,
  fluentBitAvailable,
  GENERATOR,
  generate,
  median,
  procStats,
  type Receiver,
  sleep,
  spawnOutrider,
  startReceiver,
  stopProcess,
  track,
} from './harness.ts';
import type { BenchResult, BenchSuite } from './types.ts';

const FILES = Number(process.env.BENCH_NODE_FILES ?? 10);
const BURST = Number(process.env.BENCH_NODE_BURST ?? 20);
const INTERVAL_MS = Number(process.env.BENCH_NODE_INTERVAL ?? 150);
const SECONDS = Number(process.env.BENCH_NODE_SECONDS ?? 60);
const IDLE_SECONDS = Number(process.env.BENCH_NODE_IDLE ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Lines of the generator the writers take their bursts from, in turn. */
const SOURCE_LINES = 200_000;
const START_SETTLE_MS = 5000;
const AFTER_LOAD_SETTLE_MS = 5000;
const THREAD_KINDS: Record<string, string> = {
  MainThread: 'main',
  WorkerThread: 'decode workers',
  'libuv-worker': 'libuv pool',
  V8Worker: 'V8 helpers',
};

interface NodeRun {
  /** CPU per line by kind of thread (Outrider). */
  threads?: Record<string, number>;
  linesPerSecond: number;
  cpuUsPerLine: number;
  idleCoreShare: number;
  /** Idle again once the load is over and delivered (after AFTER_LOAD_SETTLE_MS): a node whose containers went
   * quiet, past start-up's own work. */
  idleAfterLoadCoreShare: number;
  steadyRssMb: number;
  peakRssMb: number;
}

/** The writer: appends BURST lines to each file every INTERVAL ms (files staggered), for SECONDS; prints the count. */
const WRITER = `
const { openSync, writeSync, readFileSync } = require('node:fs');
const [source, seconds, burst, interval, ...files] = process.argv.slice(1);
const lines = readFileSync(source, 'utf8').split('\\n').filter(Boolean).map((l) => l + '\\n');
const fds = files.map((f) => openSync(f, 'a'));
let next = 0, written = 0;
const end = Date.now() + Number(seconds) * 1000;
fds.forEach((fd, i) => setTimeout(function tick() {
  if (Date.now() >= end) return;
  let text = '';
  for (let k = 0; k < Number(burst); k++) { text += lines[next]; next = (next + 1) % lines.length; }
  writeSync(fd, text); written += Number(burst);
  setTimeout(tick, Number(interval));
}, (i * Number(interval)) / fds.length));
setTimeout(() => { process.stdout.write(String(written)); }, Number(seconds) * 1000 + Number(interval) + 50);
`;

function containerId(i: number): string {
  return (i + 1).toString(16).padStart(4, '0').repeat(16);
}

/** Fluent Bit tailing the same files with the settings of ../shared/bench/fluent-bit.sh, shipping NDJSON over HTTP. */
function fluentBitConfig(dir: string, glob: string, port: number): string {
  writeFileSync(
    join(dir, 'parsers.conf'),
    `[PARSER]
    Name        docker
    Format      json
    Time_Key    time
    Time_Format %Y-%m-%dT%H:%M:%S.%L
    Time_Keep   On
[PARSER]
    Name   inner_json
    Format json
`,
  );
  const config = join(dir, 'fb.conf');
  writeFileSync(
    config,
    `[SERVICE]
    Flush        1
    Grace        1
    Log_Level    warn
    Parsers_File ${join(dir, 'parsers.conf')}
[INPUT]
    Name              tail
    Tag               docker.bench
    Path              ${glob}
    Parser            docker
    Read_from_Head    true
    Refresh_Interval  1
    Buffer_Chunk_Size 256k
    Buffer_Max_Size   1M
    Mem_Buf_Limit     64MB
    DB                ${join(dir, 'tail.db')}
[FILTER]
    Name         parser
    Match        *
    Key_Name     log
    Parser       inner_json
    Reserve_Data On
    Preserve_Key On
[FILTER]
    Name   modify
    Match  *
    Rename level severity
    Rename msg message
    Copy   src_ip src_endpoint_ip
    Add    class_uid 0
    Add    metadata_product fluent-bit-bench
[OUTPUT]
    Match *
    Name http
    Host 127.0.0.1
    Port ${port}
    URI /ingest
    Format json_lines
    Retry_Limit False
`,
  );
  return config;
}

async function runTool(tool: 'outrider' | 'fluent-bit', root: string, source: string, round: number): Promise<NodeRun> {
  const dir = join(root, `${tool}-${round}`);
  const logs = join(dir, 'containers');
  const files: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const id = containerId(i);
    mkdirSync(join(logs, id), { recursive: true });
    const file = join(logs, id, `${id}-json.log`);
    writeFileSync(file, '');
    files.push(file);
  }
  const glob = join(logs, '*', '*-json.log');
  const receiver: Receiver = await startReceiver(dir, 'receiver');
  let agent: ChildProcess;
  if (tool === 'outrider') {
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
        `    include: ["${glob}"]`,
        ...(process.env.BENCH_NODE_SOURCE ? [`    ${process.env.BENCH_NODE_SOURCE}`] : []),
        'sinks:',
        '  out:',
        '    type: http',
        '    inputs: [containers]',
        `    uri: ${receiver.url}/ingest`,
      ].join('\n'),
    );
    agent = spawnOutrider(config);
  } else {
    const port = Number(new URL(receiver.url).port);
    agent = track(spawn(FLUENT_BIT, ['-c', fluentBitConfig(dir, glob, port)], { stdio: 'ignore' }));
  }
  try {
    await sleep(START_SETTLE_MS);
    const pid = agent.pid!;
    if (agent.exitCode !== null) throw new Error(`${tool} exited with ${agent.exitCode}`);
    // Idle: files open, nothing written.
    const idleFrom = procStats(pid).cpuSeconds;
    await sleep(IDLE_SECONDS * 1000);
    const idleCoreShare = (procStats(pid).cpuSeconds - idleFrom) / IDLE_SECONDS;
    // Load.
    const cpuFrom = procStats(pid).cpuSeconds;
    const threadsFrom = cpuByThreadName(pid, THREAD_KINDS);
    const started = Date.now();
    const writer = track(
      spawn(process.execPath, ['-e', WRITER, source, String(SECONDS), String(BURST), String(INTERVAL_MS), ...files], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    let written = '';
    writer.stdout!.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const rss: number[] = [];
    while (writer.exitCode === null) {
      await sleep(1000);
      if (agent.exitCode !== null) throw new Error(`${tool} exited with ${agent.exitCode}`);
      if (Date.now() - started > (SECONDS * 1000) / 2) rss.push(procStats(pid).rssMb);
    }
    const lines = Number(written);
    // Everything written is delivered (Fluent Bit and Outrider both flush about once a second).
    const deadline = Date.now() + 30_000;
    let delivered = (await receiver.stats()).records;
    while (delivered < lines && Date.now() < deadline) {
      await sleep(200);
      delivered = (await receiver.stats()).records;
    }
    if (delivered < lines) throw new Error(`${tool}: ${delivered} of ${lines} lines delivered`);
    const { cpuSeconds, peakRssMb } = procStats(pid);
    const threads: Record<string, number> = {};
    if (tool === 'outrider')
      for (const [kind, used] of cpuByThreadName(pid, THREAD_KINDS))
        threads[kind] = Math.round(((used - (threadsFrom.get(kind) ?? 0)) / lines) * 1e7) / 10;
    await sleep(AFTER_LOAD_SETTLE_MS);
    const quietFrom = procStats(pid).cpuSeconds;
    await sleep(IDLE_SECONDS * 1000);
    const idleAfterLoadCoreShare = (procStats(pid).cpuSeconds - quietFrom) / IDLE_SECONDS;
    return {
      ...(tool === 'outrider' ? { threads } : {}),
      linesPerSecond: lines / SECONDS,
      cpuUsPerLine: ((cpuSeconds - cpuFrom) / lines) * 1e6,
      idleCoreShare,
      idleAfterLoadCoreShare,
      steadyRssMb: median(rss),
      peakRssMb,
    };
  } finally {
    await stopProcess(agent);
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function suite(): Promise<BenchSuite> {
  return {
    suite: 'node',
    async run(): Promise<BenchResult[]> {
      const root = mkdtempSync(join(tmpdir(), 'outrider-bench-node-'));
      try {
        const source = join(root, 'lines.log');
        if (!existsSync(GENERATOR)) throw new Error(`${GENERATOR} not found: the benchmark needs ../shared/bench`);
        await generate(SOURCE_LINES, source);
        const peer = fluentBitAvailable() && process.env.BENCH_NODE_PEER !== '0';
        const tools = [
          ...(peer ? (['fluent-bit'] as const) : []),
          ...(process.env.BENCH_NODE_OUTRIDER === '0' ? [] : (['outrider'] as const)),
        ];
        const runs: Record<string, NodeRun[]> = { outrider: [], 'fluent-bit': [] };
        for (let round = 1; round <= ROUNDS; round++) {
          for (const tool of tools) {
            const run = await runTool(tool, root, source, round);
            runs[tool]!.push(run);
            process.stderr.write(`  ${tool}: ${JSON.stringify(run)}\n`);
          }
        }
        const out: BenchResult[] = [];
        const label = `${FILES} files, ${BURST}-line bursts every ${INTERVAL_MS} ms, ${SECONDS} s`;
        for (const [tool, list] of Object.entries(runs)) {
          if (list.length === 0) continue;
          const med = (k: Exclude<keyof NodeRun, 'threads'>) => median(list.map((r) => r[k]));
          out.push(
            { name: `${tool}: lines/s written (${label})`, value: Math.round(med('linesPerSecond')), unit: 'lines/s' },
            { name: `${tool}: CPU per line`, value: med('cpuUsPerLine'), unit: 'cpu-µs' },
            {
              name: `${tool}: idle (no lines, ${START_SETTLE_MS / 1000} s after start), share of a core`,
              value: med('idleCoreShare') * 100,
              unit: '%',
            },
            {
              name: `${tool}: idle after the load (${AFTER_LOAD_SETTLE_MS / 1000} s after the last line delivered), share of a core`,
              value: med('idleAfterLoadCoreShare') * 100,
              unit: '%',
            },
            { name: `${tool}: steady RSS`, value: med('steadyRssMb'), unit: 'MB' },
            { name: `${tool}: peak RSS`, value: med('peakRssMb'), unit: 'MB' },
          );
          for (const kind of Object.values(THREAD_KINDS)) {
            if (list[0]!.threads?.[kind] === undefined) continue;
            const value = median(list.map((r) => r.threads?.[kind] ?? 0));
            out.push({ name: `${tool}: CPU per line, ${kind}`, value, unit: 'cpu-µs' });
          }
        }
        const fb = runs['fluent-bit']!;
        const mine = runs.outrider!;
        if (fb.length > 0 && mine.length > 0) {
          out.push({
            name: "outrider: CPU per line ÷ Fluent Bit's, same round (median)",
            value: median(mine.map((r, i) => r.cpuUsPerLine / fb[i]!.cpuUsPerLine)),
            unit: '×',
          });
        }
        return out;
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
