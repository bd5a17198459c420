// What a shared log volume may hold besides logs: symlinks out of it (app.log -> /etc/shadow, a symlinked container
// directory), FIFOs (opening one for reading blocks), sockets, devices, directories named like logs. None is read or
// opened; each is said once in the log and counted. Links inside the include directories (the kubelet's
// /var/log/containers -> /var/log/pods) keep working.
import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';

const running: TestOutrider[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

const id = (c: string) => c.repeat(64);

function record(text: string): string {
  return `${JSON.stringify({ log: `${text}\n`, stream: 'stdout', time: '2026-11-23T00:00:00.000Z' })}\n`;
}

/** A json-file log path for container `c` under `dir`/containers, its directory created. */
function logPath(dir: string, c: string): string {
  mkdirSync(join(dir, 'containers', id(c)), { recursive: true });
  return join(dir, 'containers', id(c), `${id(c)}-json.log`);
}

async function start(dir: string, include: string[], extra: Record<string, unknown> = {}): Promise<TestOutrider> {
  const o = await startTestOutrider(
    {
      sources: {
        c: { type: 'container_logs', include, poll_interval: '50ms', glob_interval: '100ms', ...extra },
      },
      sinks: { out: { type: 'file', inputs: ['c'], path: join(dir, 'out.ndjson'), batch: { timeout: '20ms' } } },
    },
    join(dir, 'data'),
  );
  running.push(o);
  return o;
}

const messages = (dir: string) => readNdjson<{ message: string }>(join(dir, 'out.ndjson')).map((e) => e.message);

/** The source's log lines for `path` with `msg` matching. */
function logged(o: TestOutrider, path: string, msg: RegExp): string[] {
  return o.logs.filter((l) => msg.test(l) && l.includes(`"path":${JSON.stringify(path)}`));
}

async function skippedCount(o: TestOutrider, reason: string): Promise<number> {
  const text = await o.metrics.registry.getSingleMetricAsString('outrider_files_skipped_total');
  return Number(new RegExp(`reason="${reason}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('paths that are not logs', () => {
  it('does not follow symlinks out of the include directories, and never opens FIFOs, sockets, devices or directories', async () => {
    const dir = tempDir();
    writeFileSync(logPath(dir, 'a'), record('good line'));
    // Outside the include base (dir/containers): a "secret", a link to it, and a container directory that is a link.
    mkdirSync(join(dir, 'secret', id('c')), { recursive: true });
    writeFileSync(join(dir, 'secret', 'shadow'), record('root:$6$secret-hash:19000:0:99999:7:::'));
    writeFileSync(join(dir, 'secret', id('c'), `${id('c')}-json.log`), record('secret behind a linked directory'));
    const linkOut = logPath(dir, 'b');
    symlinkSync(join(dir, 'secret', 'shadow'), linkOut);
    const linkedDir = join(dir, 'containers', id('c'));
    symlinkSync(join(dir, 'secret', id('c')), linkedDir);
    // A link inside the include base is followed (read once, under one of its names).
    const linkIn = logPath(dir, 'd');
    symlinkSync(logPath(dir, 'a'), linkIn);
    const fifo = logPath(dir, 'e');
    execFileSync('mkfifo', [fifo]);
    // A socket file (bound by a short relative name: socket paths are limited to 108 bytes).
    const socket = logPath(dir, 'f');
    execFileSync('python3', [
      '-c',
      'import os,socket,sys; os.chdir(sys.argv[1]); socket.socket(socket.AF_UNIX).bind(sys.argv[2])',
      join(socket, '..'),
      `${id('f')}-json.log`,
    ]);
    const directory = logPath(dir, '0');
    mkdirSync(directory);
    const device = logPath(dir, '1');
    const root = process.getuid?.() === 0;
    if (root) execFileSync('mknod', [device, 'c', '1', '3']);

    const o = await start(dir, [join(dir, 'containers', '*', '*-json.log')]);
    expect(await waitFor(() => messages(dir).length >= 1)).toBe(true);
    // Several scans: each path is still said once.
    await new Promise((r) => setTimeout(r, 600));
    expect(messages(dir)).toEqual(['good line']);

    const outOfInclude = /"msg":"not following a symlink that leads outside the include directories"/;
    expect(logged(o, linkOut, outOfInclude)).toHaveLength(1);
    expect(logged(o, linkOut, outOfInclude)[0]).toContain(`"target":${JSON.stringify(join(dir, 'secret', 'shadow'))}`);
    const behindDir = join(linkedDir, `${id('c')}-json.log`);
    expect(logged(o, behindDir, outOfInclude)).toHaveLength(1);
    expect(await skippedCount(o, 'symlink_outside_include')).toBe(2);
    expect(logged(o, fifo, /"reason":"fifo"/)).toHaveLength(1);
    expect(logged(o, socket, /"reason":"socket"/)).toHaveLength(1);
    expect(logged(o, directory, /"reason":"directory"/)).toHaveLength(1);
    expect(await skippedCount(o, 'fifo')).toBe(1);
    expect(await skippedCount(o, 'socket')).toBe(1);
    expect(await skippedCount(o, 'directory')).toBe(1);
    if (root) {
      expect(logged(o, device, /"reason":"device"/)).toHaveLength(1);
      expect(await skippedCount(o, 'device')).toBe(1);
    }
    // Nobody has the FIFO open for reading: a non-blocking writer finds no reader.
    expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(/ENXIO/);
    // The link inside the include base names the same file as its target: read once.
    expect(messages(dir).filter((m) => m === 'good line')).toHaveLength(1);
    // The source reads a file: healthy.
    expect(o.pipeline.readiness().components.c).toMatchObject({ healthy: true });
  });

  it('reads a planted link only with follow_symlinks: always', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere', 'target.log'), record('followed on purpose'));
    symlinkSync(join(dir, 'elsewhere', 'target.log'), logPath(dir, 'a'));
    await start(dir, [join(dir, 'containers', '*', '*-json.log')], { follow_symlinks: 'always' });
    expect(await waitFor(() => messages(dir).length >= 1)).toBe(true);
    expect(messages(dir)).toEqual(['followed on purpose']);
  });

  describe("the kubelet's layout: /var/log/containers/*.log -> /var/log/pods/<ns>_<pod>_<uid>/<container>/0.log", () => {
    function kubelet(dir: string): { link: string; target: string } {
      const podDir = join(dir, 'log', 'pods', 'default_web-1_0f3c', 'nginx');
      mkdirSync(podDir, { recursive: true });
      mkdirSync(join(dir, 'log', 'containers'), { recursive: true });
      const target = join(podDir, '0.log');
      writeFileSync(target, '2026-11-23T00:00:00.000000000Z stdout F pod line 1\n');
      const link = join(dir, 'log', 'containers', `web-1_default_nginx-${id('9')}.log`);
      symlinkSync(join('..', 'pods', 'default_web-1_0f3c', 'nginx', '0.log'), link);
      return { link, target };
    }

    it('with both directories included, every pod line is read once', async () => {
      const dir = tempDir();
      kubelet(dir);
      const o = await start(dir, [
        join(dir, 'log', 'containers', '*.log'),
        join(dir, 'log', 'pods', '*', '*', '*.log'),
      ]);
      expect(await waitFor(() => messages(dir).length >= 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(messages(dir)).toEqual(['pod line 1']);
      expect(await skippedCount(o, 'symlink_outside_include')).toBe(0);
    });

    it('with only /var/log/containers included, the links are refused (and the source says it reads nothing)', async () => {
      const dir = tempDir();
      const { link } = kubelet(dir);
      const o = await start(dir, [join(dir, 'log', 'containers', '*.log')]);
      expect(await waitFor(async () => (await skippedCount(o, 'symlink_outside_include')) === 1)).toBe(true);
      expect(
        logged(o, link, /"msg":"not following a symlink that leads outside the include directories"/)[0],
      ).toContain('follow_symlinks: always');
      expect(o.pipeline.readiness().components.c).toMatchObject({
        healthy: false,
        reason: expect.stringMatching(/every matching path is skipped.*symlink_outside_include/),
      });
      expect(messages(dir)).toEqual([]);
    });
  });
});
