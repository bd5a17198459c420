import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata } from '../../src/ocsf/event.ts';
import { fileSinkFactory } from '../../src/sinks/file/index.ts';
import { tempDir } from '../support/outrider.ts';

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
