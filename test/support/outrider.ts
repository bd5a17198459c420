// Runs a real Outrider pipeline in-process for a test, from a config object, with its data dir in a temp folder.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type RunningOutrider, startOutrider } from '../../src/app.ts';
import { createLogger, type LogLevel } from '../../src/observability/logger.ts';

export function tempDir(prefix = 'outrider-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestOutrider extends RunningOutrider {
  dataDir: string;
  logs: string[];
}

/** Writes a config file for a test (data_dir and admin defaults filled in) and returns its path: for Outrider run
 * in-process (startTestOutrider) or as a separate process (kill -9 tests). */
export function writeTestConfig(config: Record<string, unknown>, dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'outrider.yaml');
  writeFileSync(file, stringify({ data_dir: dataDir, admin: { enabled: false }, shutdown_timeout: '5s', ...config }));
  return file;
}

/** Starts Outrider with `config` (see writeTestConfig); logs are captured, not printed. */
export async function startTestOutrider(
  config: Record<string, unknown>,
  dataDir = tempDir(),
  level: LogLevel = 'debug',
): Promise<TestOutrider> {
  const file = writeTestConfig(config, dataDir);
  const logs: string[] = [];
  const running = await startOutrider(
    loadConfig(file),
    createLogger(level, {}, (line) => logs.push(line)),
  );
  return { ...running, dataDir, logs };
}

/** The NDJSON lines of a file (empty when it does not exist yet). */
export function readNdjson<T = Record<string, unknown>>(file: string): T[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  // A writer may be mid-line: only whole (newline-terminated) lines count.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns its last result. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Writes `text` as the Docker json-file log of container `id` in a fresh temp dir and starts Outrider tailing it
 * (a `container_logs` source named `containers`, with `sourceKeys`) into a file sink; `out` is that file.
 */
export async function tailDockerLog(
  text: string,
  sourceKeys: Record<string, unknown>,
  id: string,
): Promise<{ outrider: TestOutrider; out: string }> {
  const dir = tempDir();
  const logDir = join(dir, 'containers', id);
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, `${id}-json.log`), text);
  const out = join(dir, 'out', 'events.ndjson');
  const outrider = await startTestOutrider(
    {
      sources: {
        containers: { type: 'container_logs', include: [join(dir, 'containers', '*', '*-json.log')], ...sourceKeys },
      },
      sinks: { out: { type: 'file', inputs: ['containers'], path: out, batch: { timeout: '20ms' } } },
    },
    join(dir, 'data'),
  );
  return { outrider, out };
}

/** `got` is exactly `want`, line for line; a failure names the first difference (not a diff of 20,000 lines). */
export function expectLines(got: Array<string | undefined>, want: string[]): void {
  const firstDiff = got.findIndex((m, i) => m !== want[i]);
  expect(
    firstDiff,
    `first difference at ${firstDiff}: ${JSON.stringify(got.slice(firstDiff - 2, firstDiff + 3))}`,
  ).toBe(-1);
  expect(got).toHaveLength(want.length);
}
