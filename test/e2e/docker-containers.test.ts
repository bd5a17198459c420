// End to end against the real Docker engine: containers print JSON, text, 40 KiB lines and stack traces; every line
// must arrive once, in order per container, with the right container id — including a container that lives for
// well under a second and is removed (--rm), Docker's own json-file rotation under load, and kill -9 mid-stream.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import {
  expectLines,
  readNdjson,
  startTestOutrider,
  type TestOutrider,
  tempDir,
  waitFor,
  writeTestConfig,
} from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('docker', 'root');

interface Ev {
  message: string;
  device: { container?: { uid?: string } };
  unmapped?: { stream?: string; fields?: Record<string, unknown> };
  metadata: { is_truncated?: boolean; log_name?: string; original_time?: string };
  raw_data?: string;
}

const containerSource = (extra: Record<string, unknown> = {}) => ({
  type: 'container_logs',
  include: ['/var/lib/docker/containers/*/*-json.log'],
  // Other containers' old logs are not this test's business: only files that appear from now on are read whole.
  read_from: 'end',
  poll_interval: '50ms',
  rotate_wait: '500ms',
  ...extra,
});

function byContainer(events: Ev[], id: string): string[] {
  return events.filter((e) => e.device.container?.uid === id).map((e) => e.message);
}

describe.skipIf(!ok)('container logs from a real Docker engine', () => {
  let image: string;
  let outrider: TestOutrider;
  let out: string;

  beforeAll(async () => {
    image = await ensureTestImage();
    const dir = tempDir();
    out = join(dir, 'out', 'events.ndjson');
    outrider = await startTestOutrider(
      {
        sources: {
          containers: containerSource({
            multiline: { mode: 'continue_through', condition_pattern: '^\\s+at ', timeout: '500ms' },
          }),
        },
        sinks: { out: { type: 'file', inputs: ['containers'], path: out, batch: { timeout: '50ms' } } },
      },
      join(dir, 'data'),
      'info',
    );
  });

  afterAll(async () => {
    await outrider?.stop();
    const v = validateOcsf(recordOutput('e2e/docker-containers', readNdjson(out)));
    if (v) expect(v.failed, v.output).toBe(0);
  });

  it('ships every line of JSON, text, 40 KiB and stack-trace containers once, in order, with the container id', async () => {
    const scripts = {
      json: 'i=1; while [ $i -le 300 ]; do echo "{\\"level\\":\\"info\\",\\"seq\\":$i,\\"msg\\":\\"order placed\\"}"; i=$((i+1)); done',
      text: 'i=1; while [ $i -le 300 ]; do echo "plain line $i"; echo "err line $i" >&2; i=$((i+1)); done',
      big: 'i=1; while [ $i -le 5 ]; do printf "big$i:"; head -c 40960 /dev/zero | tr "\\0" "x"; echo; i=$((i+1)); done',
      trace:
        'echo "Exception in thread main java.lang.IllegalStateException: boom"; printf "\\tat com.example.A.run(A.java:10)\\n\\tat com.example.A.main(A.java:3)\\n"; sleep 1; echo "after trace"',
    };
    const ids: Record<string, string> = {};
    for (const [name, script] of Object.entries(scripts))
      ids[name] = await docker('run', '-d', image, 'sh', '-c', script);
    for (const id of Object.values(ids)) await docker('wait', id);
    const events = () => readNdjson<Ev>(out);
    const expectedCounts = { json: 300, text: 600, big: 5, trace: 2 };
    const complete = await waitFor(
      () => Object.entries(expectedCounts).every(([k, n]) => byContainer(events(), ids[k]!).length >= n),
      30_000,
    );
    const all = events();
    expect(
      complete,
      JSON.stringify(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, byContainer(all, id).length]))),
    ).toBe(true);

    const json = all.filter((e) => e.device.container?.uid === ids.json);
    expect(json.map((e) => e.unmapped?.fields?.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const text = all.filter((e) => e.device.container?.uid === ids.text);
    expect(text.filter((e) => e.metadata.log_name === 'stdout').map((e) => e.message)).toEqual(
      Array.from({ length: 300 }, (_, i) => `plain line ${i + 1}`),
    );
    expect(text.filter((e) => e.metadata.log_name === 'stderr').map((e) => e.message)).toEqual(
      Array.from({ length: 300 }, (_, i) => `err line ${i + 1}`),
    );
    // The engine's records hold just log, stream and time: the events carry them, not raw_data again; a line the
    // engine split into 16 KiB records keeps them.
    expect(text.concat(json).filter((e) => e.raw_data !== undefined || !e.metadata.original_time)).toEqual([]);
    expect(all.filter((e) => e.device.container?.uid === ids.big).every((e) => e.raw_data !== undefined)).toBe(true);
    expect(byContainer(all, ids.big!)).toEqual(Array.from({ length: 5 }, (_, i) => `big${i + 1}:${'x'.repeat(40960)}`));
    expect(byContainer(all, ids.trace!)).toEqual([
      'Exception in thread main java.lang.IllegalStateException: boom\n\tat com.example.A.run(A.java:10)\n\tat com.example.A.main(A.java:3)',
      'after trace',
    ]);
    for (const id of Object.values(ids)) await docker('rm', id);
  });

  it('ships every line of a container that lives well under a second and is removed (--rm)', async () => {
    const marker = `short-${Date.now()}`;
    // `docker run --rm` returns after the container is gone, and its log directory with it.
    await docker('run', '--rm', image, 'sh', '-c', `echo ${marker} 1; echo ${marker} 2; echo ${marker} 3 >&2`);
    const found = await waitFor(
      () => readNdjson<Ev>(out).filter((e) => e.message.startsWith(marker)).length >= 3,
      10_000,
    );
    const got = readNdjson<Ev>(out).filter((e) => e.message.startsWith(marker));
    expect(found, `got ${got.length} of 3 lines`).toBe(true);
    expect(got.map((e) => e.message).sort()).toEqual([`${marker} 1`, `${marker} 2`, `${marker} 3`]);
    expect(got.every((e) => /^[0-9a-f]{64}$/.test(e.device.container?.uid ?? ''))).toBe(true);
  });

  it("follows Docker's own json-file rotation under load without losing a line", async () => {
    const n = 20_000;
    const id = await docker(
      'run',
      '-d',
      '--log-opt',
      'max-size=200k',
      '--log-opt',
      'max-file=5',
      image,
      'sh',
      '-c',
      // ~1 MB/s of logs in bursts: a busy service, rotated several times a second.
      `i=1; while [ $i -le ${n} ]; do echo "rotating line $i"; i=$((i+1)); [ $((i % 200)) -eq 0 ] && sleep 0.02; done; true`,
    );
    await docker('wait', id);
    const done = await waitFor(() => byContainer(readNdjson<Ev>(out), id).length >= n, 30_000);
    const got = byContainer(readNdjson<Ev>(out), id);
    expect(done, `got ${got.length} of ${n}`).toBe(true);
    const want = Array.from({ length: n }, (_, i) => `rotating line ${i + 1}`);
    expectLines(got, want);
    await docker('rm', id);
  });
});

describe.skipIf(!ok)('kill -9 of Outrider mid-stream', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('loses nothing: after a restart every line is delivered (duplicates allowed, order kept)', async () => {
    const cli = ensureBuilt();
    const image = await ensureTestImage();
    const dir = tempDir();
    const out = join(dir, 'out', 'events.ndjson');
    const config = writeTestConfig(
      {
        sources: { containers: containerSource({ checkpoint_interval: '100ms' }) },
        sinks: {
          out: { type: 'file', inputs: ['containers'], path: out, batch: { timeout: '20ms', max_events: 200 } },
        },
      },
      join(dir, 'data'),
    );
    const startChild = () => {
      const c = spawn(process.execPath, [cli, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'ignore'] });
      child = c;
      return c;
    };
    let c = startChild();
    const n = 30_000;
    const id = await docker(
      'run',
      '-d',
      image,
      'sh',
      '-c',
      `sleep 1; i=1; while [ $i -le ${n} ]; do echo "kill line $i"; i=$((i+1)); done`,
    );
    // Kill it while the container is still writing.
    expect(await waitFor(() => byContainer(readNdjson<Ev>(out), id).length > 2000, 30_000)).toBe(true);
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
    const before = byContainer(readNdjson<Ev>(out), id).length;
    expect(before).toBeLessThan(n);
    c = startChild();
    const done = await waitFor(() => new Set(byContainer(readNdjson<Ev>(out), id)).size >= n, 60_000);
    const got = byContainer(readNdjson<Ev>(out), id);
    expect(done, `unique ${new Set(got).size} of ${n}`).toBe(true);
    // Order: the first occurrence of each line comes in sequence.
    const firstSeen: number[] = [];
    const seen = new Set<string>();
    for (const m of got) {
      if (!seen.has(m)) {
        seen.add(m);
        firstSeen.push(Number(m.split(' ')[2]));
      }
    }
    expect(firstSeen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    c.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => c.once('exit', r));
    expect(code).toBe(0);
    await docker('rm', '-f', id);
  });
});
