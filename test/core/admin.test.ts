import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('turns not-ready while stopping', async () => {
    const stopping = o.pipeline.stop(1000);
    expect(o.pipeline.readiness().ready).toBe(false);
    await stopping;
  });
});
