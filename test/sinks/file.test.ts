import { appendFileSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata } from '../../src/ocsf/event.ts';
import { fileSinkFactory } from '../../src/sinks/file/index.ts';
import { readNdjson, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';
import { fillUp, mountTmpfs } from '../support/tmpfs.ts';
import { makeEvents, seqs, startSink } from './support.ts';

const event = (message: string): Envelope => ({
  event: { ...classify('base_event', 99, 1, 'Log'), time: 1, metadata: baseMetadata({ name: 't' }, 't'), message },
  source: 's',
  raw: message,
});

const sink = (path: string, rotate = { max_bytes: 1 << 30, max_files: 3 }) =>
  fileSinkFactory.create(fileSinkFactory.configSchema.parse({ inputs: ['s'], path, rotate }));

describe('file sink', () => {
  it('cuts the torn last line a crash left behind before appending (that batch was never acknowledged)', async () => {
    const path = join(tempDir(), 'events.ndjson');
    writeFileSync(path, '{"message":"whole"}\n{"message":"torn');
    const s = sink(path);
    await s.start!({} as ComponentContext);
    await s.write([event('after restart')]);
    await s.stop();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['whole', 'after restart']);
  });

  it('rotates by size, keeping max_files', async () => {
    const path = join(tempDir(), 'events.ndjson');
    const s = sink(path, { max_bytes: 600, max_files: 2 });
    await s.start!({} as ComponentContext);
    for (let i = 0; i < 10; i++) await s.write([event(`batch ${i}`)]);
    await s.stop();
    appendFileSync(path, '');
    const current = readFileSync(path, 'utf8');
    const rotated = readFileSync(`${path}.1`, 'utf8');
    expect(current).toContain('batch 9');
    expect(rotated).toContain('batch');
    expect(() => readFileSync(`${path}.3`)).toThrow();
  });
});

describe.skipIf(!(await requireComponents('root')))('file sink on a full disk', () => {
  it('reports itself degraded with ENOSPC while the disk is full, logs it once, and recovers by itself', async () => {
    const dir = tempDir();
    const disk = mountTmpfs(join(dir, 'disk'), 1024 * 1024);
    const path = join(disk, 'events.ndjson');
    const harness = await startSink(
      'file',
      { path, batch: { max_events: 50, timeout: 10 }, retry: { initial_backoff: 20, max_backoff: 100 } },
      join(dir, 'data'),
      300,
    );
    const filler = fillUp(disk);
    for (let b = 0; b < 4; b++) await harness.source.emit(makeEvents(50, 'app', { from: b * 50 }));
    expect(await waitFor(() => harness.pipeline.readiness().components.out?.healthy === false, 10_000)).toBe(true);
    expect(harness.pipeline.readiness().components.out?.reason).toMatch(/writes failing for .*ENOSPC/);
    await new Promise((r) => setTimeout(r, 700));
    expect(harness.source.acked).toBe(0);
    unlinkSync(filler);
    expect(await waitFor(() => harness.source.acked === 200, 10_000)).toBe(true);
    expect(await waitFor(() => harness.pipeline.readiness().ready, 5000)).toBe(true);
    expect(seqs(readNdjson<{ message: string }>(path))).toEqual([...Array(200).keys()]);
    // Many failed attempts; one line when it started, one when it ended, with the count.
    const logs = harness.logs.map((l) => JSON.parse(l) as { level: string; msg: string; failed_attempts?: number });
    const lines = logs.filter((l) => l.msg.startsWith('sink cannot deliver') && l.level !== 'debug');
    expect(lines.map((l) => l.msg)).toEqual([
      'sink cannot deliver; retrying',
      'sink cannot deliver; retrying: resolved',
    ]);
    expect(lines[1]!.failed_attempts).toBeGreaterThan(3);
    expect(logs.filter((l) => l.msg === 'component degraded')).toHaveLength(1);
  });
});
