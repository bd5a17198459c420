import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outriderVersion } from '../../src/observability/build-info.ts';
import type { TestOutrider } from '../support/outrider.ts';
import { startTestOutrider, tempDir } from '../support/outrider.ts';

describe('admin endpoint', () => {
  let o: TestOutrider;
  let base: string;
  beforeAll(async () => {
    const dir = tempDir();
    // A source with a file to read (one that can read nothing is not ready: test/sources/tail-readability.test.ts).
    mkdirSync(`${dir}/logs`);
    writeFileSync(`${dir}/logs/app.log`, '');
    const port = 20000 + Math.floor(Math.random() * 20000);
    o = await startTestOutrider({
      admin: { enabled: true, address: `127.0.0.1:${port}` },
      sources: { c: { type: 'container_logs', include: [`${dir}/logs/*.log`] } },
      sinks: { s: { type: 'file', inputs: ['c'], path: `${dir}/out.ndjson` } },
    });
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await o.stop();
  });

  it('serves Prometheus metrics, liveness and readiness', async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'outrider_events_read_total',
      'outrider_queue_capacity_events',
      'outrider_component_up',
      'outrider_process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(name);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      components: { c: { healthy: true }, s: { healthy: true } },
    });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('labels every component series with component_kind and component_type, and names no gauge _total', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      new RegExp(`^outrider_build_info\\{version="${outriderVersion()}",node="${process.versions.node}"\\} 1$`, 'm'),
    );
    const series = text.split('\n').filter((l) => l.includes('component="'));
    expect(series.length).toBeGreaterThanOrEqual(4);
    for (const line of series) expect(line).toMatch(/component_kind="(source|transform|sink)",component_type="\w+"/);
    expect(text).toMatch(
      /^outrider_component_up\{component="c",component_kind="source",component_type="container_logs"\} 1$/m,
    );
    expect(text).toMatch(
      /^outrider_queue_capacity_bytes\{component="s",component_kind="sink",component_type="file"\} \d+/m,
    );
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]!);
    expect(gauges.length).toBeGreaterThan(10);
    expect(gauges.filter((g) => g.endsWith('_total'))).toEqual([]);
    // Bad input kept raw and events lost are apart; dropped on purpose is a third.
    for (const name of ['outrider_input_kept_raw_total', 'outrider_events_lost_total', 'outrider_events_dropped_total'])
      expect(text).toContain(`# TYPE ${name} counter`);
  });

  it('names the version and the config file in its start-up line', () => {
    const started = o.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'outrider started');
    expect(started).toMatchObject({ version: outriderVersion(), config: join(o.dataDir, 'outrider.yaml') });
  });

  it('turns not-ready while stopping', async () => {
    const stopping = o.pipeline.stop(1000);
    expect(o.pipeline.readiness().ready).toBe(false);
    await stopping;
  });
});
