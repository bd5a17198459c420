// What the whole-process benchmarks share: the shared tools beside the repository (generator, counting receiver,
// Fluent Bit), Outrider started as every launcher starts it, and a process's CPU time and memory from /proc.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const REPO = [join(import.meta.dirname, '..'), join(import.meta.dirname, '..', '..')].find((d) =>
  existsSync(join(d, 'package.json')),
)!;
export const CLI = join(REPO, 'dist', 'src', 'cli', 'main.js');

/** ../shared beside the repository; for a git worktree nested deeper, the nearest `shared/` of an ancestor. */
function sharedDir(): string {
  for (let dir = dirname(REPO); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'shared', 'bench'))) return join(dir, 'shared');
    if (dirname(dir) === dir) return join(dirname(REPO), 'shared');
  }
}
export const SHARED = sharedDir();
export const GENERATOR = join(SHARED, 'bench', 'gen-docker-logs.mjs');
export const RECEIVER = join(SHARED, 'bench', 'sink.mjs');
export const FLUENT_BIT_SCRIPT = join(SHARED, 'bench', 'fluent-bit.sh');
export const FLUENT_BIT = join(SHARED, 'peers', 'fluent-bit', 'fluent-bit');
const CLOCK_TICKS = 100;

/** User plus system CPU-seconds of a `/proc/…/stat` line (of a process, all its threads, or of one thread). */
export function cpuSecondsOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU-seconds of every thread of a process so far, its resident and its peak resident memory. */
export function procStats(pid: number): { cpuSeconds: number; rssMb: number; peakRssMb: number } {
  const cpuSeconds = cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { cpuSeconds, rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

/** CPU-seconds used so far by each named kind of thread of a process (threads that ended are not counted). */
export function cpuByThreadName(pid: number, kinds: Record<string, string>): Map<string, number> {
  const byKind = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byKind;
  }
  for (const tid of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const kind = kinds[name] ?? 'other threads';
    byKind.set(kind, (byKind.get(kind) ?? 0) + cpuSecondsOf(stat));
  }
  return byKind;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes started by a benchmark and not stopped yet: stopped if the benchmark itself is (Ctrl-C); SIGTERM, so
 * that a script's own clean-up runs. */
const started = new Set<ChildProcess>();
const killStarted = () => {
  for (const child of started) child.kill('SIGTERM');
};
process.once('exit', killStarted);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    killStarted();
    process.exit(130);
  });

/** A child process the benchmark stops when it is itself stopped. */
export function track(child: ChildProcess): ChildProcess {
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

/** Outrider's CLI with the settings every launcher (bin, npm start, dev.sh, Dockerfile) gives it. */
export function spawnOutrider(config: string): ChildProcess {
  return track(
    spawn(process.execPath, ['--max-semi-space-size=4', '--optimize-for-size', CLI, 'run', '--config', config], {
      env: { ...process.env, MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

/** Stops a process this benchmark started, by its pid, and waits for it (SIGKILL after `graceMs`). */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface ReceiverStats {
  requests: number;
  records: number;
  bytes: number;
  first_ts: number | null;
  last_ts: number | null;
  failed: number;
  uncounted: number;
  /** With `expect`: when the records first reached it (epoch ms). */
  done_ts?: number;
}

export interface Receiver {
  url: string;
  pid: number;
  /** The receiver's stats once `expect` records arrived (undefined until then). */
  done(): ReceiverStats | undefined;
  stats(): Promise<ReceiverStats>;
  stop(): Promise<void>;
}

/** The shared counting receiver (../shared/bench/sink.mjs) in its own process, on a free loopback port. */
export async function startReceiver(dir: string, name: string, expect = 0, extra: string[] = []): Promise<Receiver> {
  const portFile = join(dir, `${name}.port`);
  const doneFile = join(dir, `${name}.done`);
  const args = [RECEIVER, '--port', '0', '--port-file', portFile, '--max-seconds', '1800'];
  if (expect > 0) args.push('--expect', String(expect), '--done-file', doneFile);
  args.push(...extra);
  const child = track(spawn(process.execPath, args, { stdio: 'ignore' }));
  const deadline = Date.now() + 10_000;
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').trim() === '') {
    if (Date.now() > deadline) throw new Error('bench receiver did not start');
    await sleep(20);
  }
  const url = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
  return {
    url,
    pid: child.pid!,
    done() {
      // The receiver may be mid-write: only a whole line counts.
      const text = existsSync(doneFile) ? readFileSync(doneFile, 'utf8') : '';
      return text.endsWith('\n') ? (JSON.parse(text) as ReceiverStats) : undefined;
    },
    async stats() {
      return (await (await fetch(`${url}/stats`)).json()) as ReceiverStats;
    },
    stop: () => stopProcess(child),
  };
}

/** Runs the shared generator: `lines` Docker json-file lines, seed 42, into `file`. */
export function generate(lines: number, file: string, extra: string[] = []): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [GENERATOR, String(lines), file, '--seed', '42', ...extra], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** Whether the Fluent Bit peer is there to compare with. */
export function fluentBitAvailable(): boolean {
  return existsSync(FLUENT_BIT) && existsSync(FLUENT_BIT_SCRIPT);
}

/** Median of a list of figures (the middle one, or the mean of the middle two). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
