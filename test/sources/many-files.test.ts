// 2,000 container log files present at start, read by Outrider as its own process: every line exactly once, with the
// descriptor limit of the machine and under a low one (prlimit --nofile=256), where idle files must be closed and
// reopened by identity instead of running out of descriptors — and the admin endpoint must still answer.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { readNdjson, tempDir, waitFor, writeTestConfig } from '../support/outrider.ts';

const FILES = 2000;
const LINES = 5;
/** Files of the running-out-of-descriptors case: present at start, and created while none is left. */
const BEFORE = 100;
const DURING = 50;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const idOf = (f: number) => f.toString(16).padStart(64, '0');

function record(f: number, l: number): string {
  return `${JSON.stringify({ log: `file ${f} line ${l}\n`, stream: 'stdout', time: new Date(Date.UTC(2026, 10, 23, 0, 0, 0, l)).toISOString() })}\n`;
}

/** Json-file logs `from`…`to - 1` of `LINES` lines each under `dir`. */
function writeLogs(dir: string, from = 0, to = FILES): string[] {
  const paths: string[] = [];
  for (let f = from; f < to; f++) {
    const id = idOf(f);
    mkdirSync(join(dir, 'containers', id), { recursive: true });
    const path = join(dir, 'containers', id, `${id}-json.log`);
    let text = '';
    for (let l = 0; l < LINES; l++) text += record(f, l);
    writeFileSync(path, text);
    paths.push(path);
  }
  return paths;
}

/** How many times each line arrived, by its message. */
function counts(out: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const e of readNdjson<{ message: string }>(out)) seen.set(e.message, (seen.get(e.message) ?? 0) + 1);
  return seen;
}

function expectEveryLineOnce(seen: Map<string, number>, expected: number): void {
  const duplicated = [...seen].filter(([, n]) => n > 1);
  expect(duplicated.length, `lines delivered more than once, e.g. ${duplicated.slice(0, 3).join('; ')}`).toBe(0);
  expect(seen.size).toBe(expected);
}

async function get(base: string, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

/** Runs the CLI (optionally under prlimit) on the logs; resolves with the admin base URL once it listens. */
async function run(
  dir: string,
  nofile: number | undefined,
  logs: string[],
): Promise<{ child: ChildProcess; admin: string }> {
  const cli = ensureBuilt();
  const config = writeTestConfig(
    {
      admin: { enabled: true, address: '127.0.0.1:0' },
      sources: {
        containers: {
          type: 'container_logs',
          include: [join(dir, 'containers', '*', '*-json.log')],
          poll_interval: '100ms',
          checkpoint_interval: '200ms',
        },
      },
      sinks: {
        out: { type: 'file', inputs: ['containers'], path: join(dir, 'out.ndjson'), batch: { timeout: '50ms' } },
      },
    },
    join(dir, 'data'),
  );
  const command = [process.execPath, cli, 'run', '--config', config];
  const child =
    nofile === undefined
      ? spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('prlimit', [`--nofile=${nofile}:${nofile}`, '--', ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let partial = '';
  let admin: string | undefined;
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      logs.push(line);
      const m = /"msg":"admin endpoint listening".*"address":"([^"]+)"/.exec(line);
      if (m) admin = `http://${m[1]}`;
    }
  });
  expect(await waitFor(() => admin !== undefined || child.exitCode !== null, 60_000), 'admin endpoint up').toBe(true);
  expect(child.exitCode, logs.slice(-5).join('\n')).toBeNull();
  return { child, admin: admin! };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
}

describe(`${FILES} files on a fresh start`, () => {
  for (const nofile of [undefined, 256]) {
    const limit = nofile === undefined ? 'the machine’s descriptor limit' : `prlimit --nofile=${nofile}`;
    it(`reads every line exactly once, and later appends once too, under ${limit}`, async () => {
      const dir = tempDir('outrider-many-');
      const paths = writeLogs(dir);
      const out = join(dir, 'out.ndjson');
      const logs: string[] = [];
      const { child, admin } = await run(dir, nofile, logs);
      expect(await waitFor(() => counts(out).size >= FILES * LINES, 90_000), 'every line arrives').toBe(true);
      // Rescans and directory events after the first read must not read any file again.
      await new Promise((r) => setTimeout(r, 3000));
      expectEveryLineOnce(counts(out), FILES * LINES);
      // Every file gets one more line: files closed to stay under the limit are reopened by identity.
      for (const [f, path] of paths.entries()) appendFileSync(path, record(f, LINES));
      expect(await waitFor(() => counts(out).size >= FILES * (LINES + 1), 90_000), 'every appended line arrives').toBe(
        true,
      );
      await new Promise((r) => setTimeout(r, 2000));
      expectEveryLineOnce(counts(out), FILES * (LINES + 1));
      // The admin endpoint still answers under the limit.
      expect((await get(admin, '/metrics')).status).toBe(200);
      const ready = await get(admin, '/readyz');
      expect(ready.status, ready.body).toBe(200);
      expect(logs.filter((l) => /"finished file".*"state":"deleted"/.test(l))).toEqual([]);
      expect(logs.filter((l) => /EMFILE|ENFILE/.test(l) && !/"msg":"too many open files/.test(l))).toEqual([]);
      await stop(child);
      expect(child.exitCode).toBe(0);
    }, 240_000);
  }
});

describe('running out of descriptors', () => {
  it('is said once with the limit, takes no file for deleted, and reads the rest once descriptors free up', async () => {
    const dir = tempDir('outrider-emfile-');
    const before = writeLogs(dir, 0, BEFORE);
    const out = join(dir, 'out.ndjson');
    const logs: string[] = [];
    const { child, admin } = await run(dir, undefined, logs);
    expect(await waitFor(() => counts(out).size >= BEFORE * LINES, 60_000)).toBe(true);
    // Lower the running process's limit to its lowest free descriptor: every new descriptor fails with EMFILE.
    const pid = child.pid!;
    const [, soft, hard] = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))!;
    const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
    let lowestFree = 0;
    while (used.has(lowestFree)) lowestFree++;
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${lowestFree}:${hard}`]);
    writeLogs(dir, BEFORE, BEFORE + DURING);
    // Files already open go on being read.
    for (const [f, path] of before.slice(0, 10).entries()) appendFileSync(path, record(f, LINES));
    const saidOut = () => logs.filter((l) => l.includes('"msg":"too many open files'));
    expect(await waitFor(() => saidOut().length > 0, 20_000)).toBe(true);
    expect(await waitFor(() => counts(out).size >= BEFORE * LINES + 10, 20_000)).toBe(true);
    // Several scans while none is free.
    await new Promise((r) => setTimeout(r, 1500));
    expect(saidOut()).toHaveLength(1);
    expect(saidOut()[0]).toContain(`"process_limit":${lowestFree}`);
    expect(saidOut()[0]).toContain('raise the open-file limit');
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:${hard}`]);
    const all = (BEFORE + DURING) * LINES + 10;
    expect(await waitFor(() => counts(out).size >= all, 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expectEveryLineOnce(counts(out), all);
    expect(saidOut()).toHaveLength(1);
    expect(logs.filter((l) => l.includes('"msg":"file descriptors available again"'))).toHaveLength(1);
    expect(logs.filter((l) => /"finished file"/.test(l))).toEqual([]);
    const metrics = (await get(admin, '/metrics')).body;
    expect(metrics).toMatch(
      /outrider_files_skipped_total\{component="containers",reason="too_many_open_files",component_kind="[a-z]+",component_type="\w+"\} 1/,
    );
    expect((await get(admin, '/readyz')).status).toBe(200);
    await stop(child);
    expect(child.exitCode).toBe(0);
  }, 180_000);
});

// The descriptor limit of a process started by prlimit is the one asked for (the test relies on it).
it('prlimit sets the limit the child sees', () => {
  const out = execFileSync('prlimit', ['--nofile=256:256', '--', 'sh', '-c', 'ulimit -n'], { encoding: 'utf8' });
  expect(out.trim()).toBe('256');
});
