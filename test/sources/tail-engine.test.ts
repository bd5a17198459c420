// The tailing guarantees on real files: rotation by rename and copytruncate, truncation, deletion, restarts
// (including files rotated twice while Outrider was down), half-written lines, huge lines and binary garbage.

import { spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';
import { fillUp, mountTmpfs } from '../support/tmpfs.ts';

const ID = 'a'.repeat(64);

interface Env {
  dir: string;
  logDir: string;
  log: string;
  out: string;
}

function setup(): Env {
  const dir = tempDir();
  const logDir = join(dir, 'containers', ID);
  mkdirSync(logDir, { recursive: true });
  return { dir, logDir, log: join(logDir, `${ID}-json.log`), out: join(dir, 'out', 'events.ndjson') };
}

function record(text: string, i: number, stream = 'stdout'): string {
  return `${JSON.stringify({ log: `${text}\n`, stream, time: new Date(Date.UTC(2026, 10, 23, 0, 0, 0, i)).toISOString() })}\n`;
}

function lines(from: number, to: number, tag = 'line'): string {
  let s = '';
  for (let i = from; i < to; i++) s += record(`${tag} ${i}`, i);
  return s;
}

const running: TestOutrider[] = [];

async function start(env: Env, extra: Record<string, unknown> = {}): Promise<TestOutrider> {
  const o = await startTestOutrider(
    {
      sources: {
        containers: {
          type: 'container_logs',
          include: [join(env.dir, 'containers', '*', '*-json.log')],
          poll_interval: '50ms',
          glob_interval: '100ms',
          rotate_wait: '300ms',
          checkpoint_interval: '50ms',
          ...extra,
        },
      },
      sinks: { out: { type: 'file', inputs: ['containers'], path: env.out, batch: { timeout: '20ms' } } },
    },
    join(env.dir, 'data'),
  );
  running.push(o);
  return o;
}

const messages = (env: Env) => readNdjson<{ message: string }>(env.out).map((e) => e.message);
const expected = (from: number, to: number, tag = 'line') =>
  Array.from({ length: to - from }, (_, k) => `${tag} ${from + k}`);

afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

describe('tailing container log files', () => {
  it('reads a file, follows appends, and stamps the container id from the path', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 100));
    const o = await start(env);
    expect(await waitFor(() => messages(env).length >= 100)).toBe(true);
    appendFileSync(env.log, lines(100, 250));
    expect(await waitFor(() => messages(env).length >= 250)).toBe(true);
    expect(messages(env)).toEqual(expected(0, 250));
    const events = readNdjson<{ device: { container: { uid: string } } }>(env.out);
    expect(events.every((e) => e.device.container.uid === ID)).toBe(true);
    await o.stop();
    const v = validateOcsf(recordOutput('sources/tail-basic', readNdjson(env.out)));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('follows rotation by rename without loss or duplicates, old file first', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 50));
    await start(env);
    expect(await waitFor(() => messages(env).length >= 50)).toBe(true);
    appendFileSync(env.log, lines(50, 80));
    renameSync(env.log, `${env.log}.1`);
    writeFileSync(env.log, lines(80, 120));
    appendFileSync(`${env.log}.1`, ''); // no late writes
    expect(await waitFor(() => messages(env).length >= 120)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(messages(env)).toEqual(expected(0, 120));
  });

  it('follows copytruncate, reading what the copy holds beyond the last read first', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 40));
    await start(env);
    expect(await waitFor(() => messages(env).length >= 40)).toBe(true);
    // Written after our last read, copied, then truncated, all before the reader wakes: only the copy holds
    // lines 40..59 when the truncation is noticed.
    appendFileSync(env.log, lines(40, 60));
    copyFileSync(env.log, `${env.log}.1`);
    truncateSync(env.log, 0);
    appendFileSync(env.log, lines(60, 70));
    expect(await waitFor(() => messages(env).length >= 70, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(messages(env)).toEqual(expected(0, 70));
  });

  it('after a restart, reads the rest of a file that was copytruncated while Outrider was down', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 40));
    const o = await start(env);
    expect(await waitFor(() => messages(env).length >= 40)).toBe(true);
    await o.stop();
    running.splice(running.indexOf(o), 1);
    appendFileSync(env.log, lines(40, 60));
    copyFileSync(env.log, `${env.log}.1`);
    truncateSync(env.log, 0);
    appendFileSync(env.log, lines(60, 70));
    await start(env);
    expect(await waitFor(() => messages(env).length >= 70, 10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(messages(env)).toEqual(expected(0, 70));
  });

  it('follows live rename rotation at ~20k lines/s: every line once, and no loss reported where nothing was lost', async () => {
    const env = setup();
    writeFileSync(env.log, '');
    // Rotated files are deleted (after 5 rotations, ~1 s) long before rotate_wait lets them go.
    const o = await start(env, { rotate_wait: '5s' });
    const total = 60_000;
    // A writer rotating like logrotate with max-file 5: name.3 -> name.4, …, name -> name.1, and the new name created
    // on its next write (the writer reopens it: for a moment the name does not exist); name.4 is replaced (deleted)
    // at the next rotation.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
        const [log, total] = [process.argv[1], Number(process.argv[2])];
        const perFile = 4000, maxFiles = 5, perTick = 200;
        let n = 0, inFile = 0, fd = fs.openSync(log, 'a');
        const timer = setInterval(() => {
          if (fd === undefined) fd = fs.openSync(log, 'a');
          let text = '';
          for (let k = 0; k < perTick && n < total; k++, n++)
            text += JSON.stringify({ log: 'line ' + n + '\\n', stream: 'stdout', time: new Date(Date.UTC(2026, 10, 23) + n).toISOString() }) + '\\n';
          fs.writeSync(fd, text);
          inFile += perTick;
          if (n >= total) { fs.closeSync(fd); clearInterval(timer); return; }
          if (inFile >= perFile) {
            fs.closeSync(fd);
            for (let i = maxFiles - 1; i > 1; i--) if (fs.existsSync(log + '.' + (i - 1))) fs.renameSync(log + '.' + (i - 1), log + '.' + i);
            fs.renameSync(log, log + '.1');
            fd = undefined;
            inFile = 0;
          }
        }, 10);`,
        env.log,
        String(total),
      ],
      { stdio: 'inherit' },
    );
    await new Promise((r) => writer.once('exit', r));
    expect(await waitFor(() => new Set(messages(env)).size >= total, 30_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const got = messages(env);
    expect(got.length, 'each line once').toBe(total);
    expect(new Set(got).size).toBe(total);
    expect(o.logs.filter((l) => /lost/.test(l))).toEqual([]);
    expect(await o.metrics.registry.getSingleMetricAsString('outrider_file_events_total')).not.toMatch(/event="lost"/);
  });

  it('detects truncation in place and reads the new content from the start', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 30));
    await start(env);
    expect(await waitFor(() => messages(env).length >= 30)).toBe(true);
    truncateSync(env.log, 0);
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(env.log, lines(0, 5, 'after'));
    expect(await waitFor(() => messages(env).length >= 35)).toBe(true);
    expect(messages(env).slice(30)).toEqual(expected(0, 5, 'after'));
  });

  it('reads a deleted file to its end (the container was removed) and lets it go', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 10));
    const o = await start(env);
    expect(await waitFor(() => messages(env).length >= 10)).toBe(true);
    appendFileSync(env.log, lines(10, 20));
    rmSync(env.logDir, { recursive: true });
    expect(await waitFor(() => messages(env).length >= 20)).toBe(true);
    expect(messages(env)).toEqual(expected(0, 20));
    const closed = await waitFor(
      async () => (await o.metrics.registry.getSingleMetricAsString('outrider_files_tailed')).includes('} 0'),
      5000,
    );
    expect(closed).toBe(true);
  });

  it('resumes from the acknowledged position after a restart, and catches up on files rotated twice while down', async () => {
    const env = setup();
    writeFileSync(env.log, lines(0, 20));
    const o = await start(env);
    expect(await waitFor(() => messages(env).length >= 20)).toBe(true);
    await o.stop();
    running.splice(running.indexOf(o), 1);
    // While down: more lines, then two rotations (docker json-file naming: .1 is the newest).
    appendFileSync(env.log, lines(20, 30));
    renameSync(env.log, `${env.log}.1`);
    writeFileSync(env.log, lines(30, 40));
    renameSync(`${env.log}.1`, `${env.log}.2`);
    renameSync(env.log, `${env.log}.1`);
    writeFileSync(env.log, lines(40, 50));
    // mtimes must order the rotations even on coarse clocks.
    const { utimesSync } = await import('node:fs');
    const now = Date.now() / 1000;
    utimesSync(`${env.log}.2`, now - 3, now - 3);
    utimesSync(`${env.log}.1`, now - 2, now - 2);
    await start(env);
    expect(await waitFor(() => messages(env).length >= 50)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(messages(env)).toEqual(expected(0, 50));
  });

  it('keeps bad input raw, flagged and counted: malformed JSON, invalid UTF-8, NUL bytes, a 1 MiB line, a half-written last line', async () => {
    const env = setup();
    const huge = JSON.stringify({
      log: `${'h'.repeat(1024 * 1024)}\n`,
      stream: 'stdout',
      time: '2026-11-23T00:00:00Z',
    });
    writeFileSync(
      env.log,
      Buffer.concat([
        Buffer.from(record('good 1', 1)),
        Buffer.from('{"log": broken json\n'),
        Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]),
        Buffer.from(`${huge}\n`),
        Buffer.from(record('good 2', 2)),
        Buffer.from('{"log":"half written'),
      ]),
    );
    const o = await start(env, { max_line_bytes: '64KiB' });
    expect(await waitFor(() => messages(env).length >= 5)).toBe(true);
    const events = readNdjson<{
      message: string;
      raw_data: string;
      unmapped?: { outrider_problems?: string[] };
      metadata: { is_truncated?: boolean };
    }>(env.out);
    expect(events.map((e) => e.message.slice(0, 10))).toEqual(
      ['good 1', '{"log": br', '\uFFFD\uFFFD\u0000A', `{"log":"${'h'.repeat(2)}`, 'good 2'].map((m) => m.slice(0, 10)),
    );
    expect(events[1]!.unmapped?.outrider_problems?.[0]).toMatch(/malformed/);
    expect(events[2]!.unmapped?.outrider_problems?.join()).toMatch(/UTF-8/);
    expect(events[3]!.metadata.is_truncated).toBe(true);
    const failed = await o.metrics.registry.getSingleMetricAsString('outrider_input_kept_raw_total');
    expect(failed).toMatch(/reason="malformed_record"/);
    expect(failed).toMatch(/reason="line_too_long"/);
    // The half-written last line is not emitted while the file may still grow...
    expect(messages(env)).toHaveLength(5);
    // ...and is completed when the writer finishes it.
    appendFileSync(env.log, '\\n","stream":"stdout","time":"2026-11-23T00:00:01Z"}\n');
    expect(await waitFor(() => messages(env).length >= 6)).toBe(true);
    expect(messages(env)[5]).toBe('half written');
    await o.stop();
    const v = validateOcsf(recordOutput('sources/tail-bad-input', readNdjson(env.out)));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('discovers new container directories while running', async () => {
    const env = setup();
    await start(env);
    const id2 = 'b'.repeat(64);
    mkdirSync(join(env.dir, 'containers', id2));
    const log2 = join(env.dir, 'containers', id2, `${id2}-json.log`);
    writeFileSync(log2, lines(0, 3, 'second'));
    expect(await waitFor(() => messages(env).length >= 3)).toBe(true);
    const events = readNdjson<{ device: { container: { uid: string } } }>(env.out);
    expect(events.every((e) => e.device.container.uid === id2)).toBe(true);
    unlinkSync(log2);
  });
});

describe.skipIf(!(await requireComponents('root')))('checkpoints on a full disk', () => {
  it('are reported once per state change with a count, make the source not ready, and recover by themselves', async () => {
    const env = setup();
    const disk = mountTmpfs(join(env.dir, 'data'), 512 * 1024);
    writeFileSync(env.log, lines(0, 10));
    const o = await start(env);
    expect(await waitFor(() => messages(env).length === 10)).toBe(true);
    const filler = fillUp(disk);
    appendFileSync(env.log, lines(10, 20));
    // checkpoint_interval is 50 ms: many failed saves, one line.
    expect(
      await waitFor(() => o.pipeline.readiness().components.containers?.reason?.includes('ENOSPC') === true, 10_000),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(o.pipeline.readiness().ready).toBe(false);
    const problem = () =>
      o.logs
        .map((l) => JSON.parse(l) as { level: string; msg: string; failed_attempts?: number })
        .filter((l) => l.msg.startsWith('cannot save checkpoints') && l.level !== 'debug');
    expect(problem().map((l) => l.msg)).toEqual(['cannot save checkpoints']);
    unlinkSync(filler);
    expect(await waitFor(() => o.pipeline.readiness().ready, 10_000)).toBe(true);
    expect(problem().map((l) => l.msg)).toEqual(['cannot save checkpoints', 'cannot save checkpoints: resolved']);
    expect(problem()[1]!.failed_attempts).toBeGreaterThan(3);
    expect(messages(env)).toEqual(expected(0, 20));
  });
});
