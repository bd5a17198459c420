// Restarting the real Docker engine in a test (hold /tmp/outrider-docker.lock: other test files use the engine).
// dockerd is stopped the way an init system stops it (SIGTERM to the pid in its pid file) and started again in the
// background; `ensureDockerd` in afterAll brings it back even when a test failed half-way.
import { execFile, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PID_FILE = '/var/run/docker.pid';
const LOG_FILE = '/tmp/outrider-dockerd.log';

async function answering(): Promise<boolean> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function dockerdPid(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** Starts dockerd in the background (detached, logging to /tmp/outrider-dockerd.log) and waits until it answers. */
export async function startDockerd(): Promise<void> {
  const log = openSync(LOG_FILE, 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  await until(answering, 60_000, 'dockerd to answer');
}

/** SIGTERM to dockerd, wait for it to exit, start it again, wait until it answers. */
export async function restartDockerd(): Promise<void> {
  const pid = dockerdPid();
  if (pid === undefined) throw new Error(`no running dockerd found from ${PID_FILE}`);
  process.kill(pid, 'SIGTERM');
  await until(() => !existsSync(`/proc/${pid}`), 60_000, `dockerd (pid ${pid}) to exit`);
  await startDockerd();
}

/** Makes sure the engine runs (after a test that restarted it, even a failed one). */
export async function ensureDockerd(): Promise<void> {
  if (await answering()) return;
  if (dockerdPid() === undefined) await startDockerd();
  else await until(answering, 60_000, 'dockerd to answer');
}
