// A tailing source that can read nothing is never healthy-and-blind: globs that match no file, a directory or files it
// has no permission to read (run as a real non-root user) make it degraded in /readyz with the reason, said once in
// the log and counted; it recovers by itself when it can read again.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import {
  readNdjson,
  startTestOutrider,
  type TestOutrider,
  tempDir,
  waitFor,
  writeTestConfig,
} from '../support/outrider.ts';

const running: TestOutrider[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const record = (text: string) =>
  `${JSON.stringify({ log: `${text}\n`, stream: 'stdout', time: '2026-11-23T00:00:00.000Z' })}\n`;

describe('a source that can read nothing', () => {
  it('is degraded while its globs match no file, and recovers when one appears', async () => {
    const dir = tempDir();
    const include = join(dir, 'logs', '*.log');
    const out = join(dir, 'out.ndjson');
    const o = await startTestOutrider(
      {
        sources: { c: { type: 'container_logs', include: [include], glob_interval: '100ms', poll_interval: '50ms' } },
        sinks: { out: { type: 'file', inputs: ['c'], path: out, batch: { timeout: '20ms' } } },
      },
      join(dir, 'data'),
    );
    running.push(o);
    // At start, at once.
    expect(o.pipeline.readiness()).toMatchObject({
      ready: false,
      components: { c: { healthy: false, reason: `no file matches ${include}` } },
    });
    expect(await o.metrics.registry.getSingleMetricAsString('outrider_files_matched')).toMatch(/\} 0$/m);
    await new Promise((r) => setTimeout(r, 400));
    expect(o.logs.filter((l) => l.includes('"msg":"this source can read no file"'))).toHaveLength(1);

    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'app.log'), record('first line'));
    expect(await waitFor(() => o.pipeline.readiness().ready, 10_000)).toBe(true);
    expect(await waitFor(() => readNdjson(out).length === 1)).toBe(true);
    expect(o.logs.filter((l) => l.includes('"msg":"reading files again"'))).toHaveLength(1);
  });

  it('with when_no_file: ready, says so and counts it, but stays ready (a log the host may not have)', async () => {
    const dir = tempDir();
    const include = join(dir, 'logs', 'auth.log');
    const out = join(dir, 'out.ndjson');
    const o = await startTestOutrider(
      {
        sources: {
          c: {
            type: 'file',
            format: 'syslog-auth',
            include: [include],
            glob_interval: '100ms',
            when_no_file: 'ready',
          },
        },
        sinks: { out: { type: 'file', inputs: ['c'], path: out, batch: { timeout: '20ms' } } },
      },
      join(dir, 'data'),
    );
    running.push(o);
    expect(o.pipeline.readiness().ready).toBe(true);
    expect(await o.metrics.registry.getSingleMetricAsString('outrider_files_matched')).toMatch(/\} 0$/m);
    await new Promise((r) => setTimeout(r, 400));
    const warnings = o.logs.filter((l) => l.includes('"msg":"this source can read no file"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`no file matches ${include}`);
    expect(o.pipeline.readiness().ready).toBe(true);

    mkdirSync(join(dir, 'logs'));
    writeFileSync(include, 'Nov 23 00:00:00 host sshd[1]: Accepted publickey for alice from 10.0.0.1 port 22 ssh2\n');
    expect(await waitFor(() => readNdjson(out).length === 1)).toBe(true);
    expect(o.pipeline.readiness().ready).toBe(true);
  });

  // Root reads everything: the permission case runs Outrider as a real unprivileged user (nobody) when the tests run
  // as root, and as the test's own user otherwise.
  it('is degraded while its directory, then its file, is unreadable; names what is missing; recovers', async () => {
    const cli = ensureBuilt();
    const asRoot = process.getuid?.() === 0;
    const uid = asRoot ? 65534 : process.getuid!();
    const gid = asRoot ? 65534 : process.getgid!();
    const dir = tempDir('outrider-unreadable-');
    chmodSync(dir, 0o755);
    const logs = join(dir, 'logs');
    mkdirSync(logs, { mode: 0o700 });
    chmodSync(logs, 0o700);
    const file = join(logs, 'app.log');
    writeFileSync(file, record('finally readable'));
    chmodSync(file, 0o600);
    if (!asRoot) chmodSync(logs, 0o000);
    const data = join(dir, 'data');
    const out = join(dir, 'out', 'events.ndjson');
    mkdirSync(join(dir, 'out'));
    const config = writeTestConfig(
      {
        admin: { enabled: true, address: '127.0.0.1:0' },
        sources: {
          c: { type: 'container_logs', include: [join(logs, '*.log')], glob_interval: '100ms', poll_interval: '50ms' },
        },
        sinks: { out: { type: 'file', inputs: ['c'], path: out, batch: { timeout: '20ms' } } },
      },
      data,
    );
    // The node binary where that user can run it (ours may sit in root's home), and what it writes owned by it.
    let node = process.execPath;
    if (asRoot) {
      const bin = tempDir('outrider-node-');
      chmodSync(bin, 0o755);
      node = join(bin, basename(process.execPath));
      linkSync(process.execPath, node);
      for (const p of [data, join(dir, 'out'), config]) chownSync(p, uid, gid);
    }
    const child = spawn(node, [cli, 'run', '--config', config], { uid, gid, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    const lines: string[] = [];
    child.stderr!.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    const address = () =>
      lines.map((l) => /"admin endpoint listening".*"address":"([^"]+)"/.exec(l)?.[1]).find(Boolean);
    expect(await waitFor(() => address() !== undefined || child.exitCode !== null, 30_000)).toBe(true);
    expect(child.exitCode, lines.join('\n')).toBeNull();
    const base = `http://${address()}`;
    const ready = async () => {
      const res = await fetch(`${base}/readyz`);
      return { status: res.status, body: (await res.json()) as { components: { c: { reason?: string } } } };
    };

    const listing = await ready();
    expect(listing.status).toBe(503);
    expect(listing.body.components.c.reason).toBe(
      `cannot list ${logs}: EACCES (needs read and search (r-x) permission on ${logs}; Outrider runs as uid ${uid})`,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /outrider_files_skipped_total\{component="c",reason="permission_denied",component_kind="source",component_type="\w+"\} 1/,
    );
    expect(metrics).toMatch(/outrider_component_up\{component="c",component_kind="source",component_type="\w+"\} 0/);

    // The directory can be listed now, the file still not read.
    chmodSync(logs, 0o755);
    expect(
      await waitFor(
        async () => (await ready()).body.components.c.reason?.startsWith('no matching file is readable') === true,
        10_000,
      ),
    ).toBe(true);
    expect((await ready()).body.components.c.reason).toBe(
      `no matching file is readable: ${file}: permission denied (needs read (r) permission on ${file}; Outrider runs as uid ${uid})`,
    );

    chmodSync(file, 0o644);
    expect(await waitFor(async () => (await ready()).status === 200, 10_000)).toBe(true);
    expect(await waitFor(() => readNdjson(out).length === 1, 10_000)).toBe(true);
    const said = (msg: string) => lines.filter((l) => l.includes(`"msg":"${msg}"`));
    // One warning per reason, one line when it recovers.
    expect(said('this source can read no file')).toHaveLength(2);
    expect(said('reading files again')).toHaveLength(1);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 60_000);
});
