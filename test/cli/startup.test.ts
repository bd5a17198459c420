// Half-started is never running: `outrider run` either starts whole (admin endpoint bound, data directory writable,
// every component started) or exits non-zero within seconds with one line naming what failed and the fix, before
// any source has read or saved a checkpoint. And `outrider healthcheck` follows the admin address wherever it is.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureBuilt } from '../support/build.ts';
import { tempDir, waitFor } from '../support/outrider.ts';

let cli: string;
let dir: string;
let taken: Server;
let takenAddress: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cli = ensureBuilt();
  dir = tempDir('outrider-startup-');
  mkdirSync(join(dir, 'logs'));
  writeFileSync(
    join(dir, 'logs', 'app-json.log'),
    '{"log":"hello\\n","stream":"stdout","time":"2026-11-23T10:00:00Z"}\n',
  );
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  takenAddress = `127.0.0.1:${(taken.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await new Promise((r) => taken.close(r));
});

/** A config tailing the test's log file into a file sink, with `top` overriding top-level keys. */
function config(name: string, top: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      data_dir: join(dir, name, 'data'),
      shutdown_timeout: '2s',
      sources: {
        logs: { type: 'container_logs', include: [join(dir, 'logs', '*.log')], checkpoint_interval: '50ms' },
      },
      sinks: { out: { type: 'file', inputs: ['logs'], path: join(dir, name, 'out', 'events.ndjson') } },
      ...top,
    }),
  );
  return file;
}

/** `outrider run` until it exits (at most 20 s). */
function runToExit(file: string) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  return { ...r, ms: Date.now() - started };
}

describe('outrider run never runs half-started', () => {
  it('an admin address already taken: exit 1 within seconds, one line naming it, no source started', () => {
    const file = config('taken', { admin: { address: takenAddress } });
    const r = runToExit(file);
    expect(r.status, r.stderr).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr.trim().split('\n')).toEqual([
      `outrider: cannot listen on admin.address ${takenAddress}: EADDRINUSE: another process listens there: stop it, or set admin.address (admin.enabled: false turns the endpoint off)`,
    ]);
    // Nothing read, nothing written, no checkpoint.
    expect(existsSync(join(dir, 'taken', 'out'))).toBe(false);
    expect(existsSync(join(dir, 'taken', 'data', 'state', 'logs'))).toBe(false);
  });

  it('an unwritable data directory: exit 1 within seconds, one line naming the path, the user and the fix', () => {
    // The node agent's case: root without CAP_DAC_OVERRIDE (every capability dropped) and a directory owned by
    // another uid; as a non-root user, a directory it may not write.
    const parent = join(dir, 'locked');
    mkdirSync(parent);
    const root = process.getuid?.() === 0;
    if (root) chownSync(parent, 10001, 10001);
    else chmodSync(parent, 0o500);
    const file = config('locked', { data_dir: join(parent, 'data'), admin: { enabled: false } });
    const started = Date.now();
    const r = root
      ? spawnSync('setpriv', ['--bounding-set=-all', process.execPath, cli, 'run', '--config', file], {
          encoding: 'utf8',
          timeout: 20_000,
        })
      : spawnSync(process.execPath, [cli, 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^outrider: cannot write data_dir ${join(parent, 'data')}(: \\S+)?: EACCES \\(permission denied for uid \\d+ gid \\d+\\): make it writable for that user`,
      ),
    );
  });

  it('a component that cannot start: exit 1 naming it and the path; checkpoints untouched', () => {
    // The file sink's directory is a file: the sink fails to start, before any source starts.
    writeFileSync(join(dir, 'blocker'), '');
    const file = config('sinkfail', {
      admin: { enabled: false },
      sinks: { out: { type: 'file', inputs: ['logs'], path: join(dir, 'blocker', 'events.ndjson') } },
    });
    const r = runToExit(file);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^outrider: cannot start sink "out": .*blocker: (EEXIST|ENOTDIR) \(/);
    expect(readdirSync(join(dir, 'sinkfail', 'data', 'state'))).not.toContain('logs');
  });

  it('SIGTERM while running drains and exits 0', async () => {
    const file = config('stop', { admin: { enabled: false } });
    const child = spawn(process.execPath, [cli, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let logs = '';
    child.stderr!.on('data', (c) => {
      logs += c;
    });
    expect(await waitFor(() => logs.includes('outrider started'), 20_000)).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(logs).toContain('"drained":true');
  });
});

describe('outrider healthcheck', () => {
  const healthcheck = (...args: string[]) =>
    spawnSync(process.execPath, [cli, 'healthcheck', ...args], { encoding: 'utf8', timeout: 20_000 });

  it('asks the admin address of the config, wherever it is moved; not ready or unreachable is exit 1', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const file = config('moved', { admin: { address: `127.0.0.1:${port}` } });
    const down = healthcheck('--config', file);
    expect(down.status).toBe(1);
    expect(down.stdout).toContain(`cannot reach the admin endpoint http://127.0.0.1:${port}/readyz: ECONNREFUSED`);
    const child = spawn(process.execPath, [cli, 'run', '--config', file], { stdio: 'ignore' });
    children.push(child);
    expect(await waitFor(() => healthcheck('--config', file).status === 0, 20_000)).toBe(true);
    expect(healthcheck('--config', file).stdout.trim()).toBe(`ready (http://127.0.0.1:${port}/readyz)`);
    expect(healthcheck('--config', file, '--live').stdout.trim()).toBe(`alive (http://127.0.0.1:${port}/healthz)`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });

  it('with the admin endpoint disabled, checks that the agent on that config runs', async () => {
    const file = config('noadmin', { admin: { enabled: false } });
    expect(healthcheck('--config', file).stdout).toContain('admin endpoint disabled');
    expect(healthcheck('--config', file).status).toBe(1);
    const child = spawn(process.execPath, [cli, 'run', '--config', file], { stdio: 'ignore' });
    children.push(child);
    expect(await waitFor(() => healthcheck('--config', file).status === 0, 20_000)).toBe(true);
    expect(healthcheck('--config', file).stdout).toContain(`outrider runs (pid ${child.pid})`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  });
});
