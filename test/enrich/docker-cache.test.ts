// The container metadata cache against the real engine: filled from the events stream, removed containers kept as
// tombstones for the configured time and then forgotten, size bounded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerMetadataCache } from '../../src/enrich/docker-metadata.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('docker', 'root');

function cache(maxEntries: number, tombstoneTtlMs: number): DockerMetadataCache {
  return new DockerMetadataCache(
    {
      socketPath: '/var/run/docker.sock',
      requestTimeoutMs: 2000,
      tombstoneTtlMs,
      maxEntries,
      labels: { keys: ['outrider.test'], prefixes: [] },
      reconnect: { initialMs: 100, maxMs: 1000 },
      healthIntervalMs: 5000,
      watchEvents: true,
    },
    { logger: createLogger('error'), metrics: new Metrics(false), component: 'cache', onHealth: () => undefined },
  );
}

describe.skipIf(!ok)('docker metadata cache on the real engine', () => {
  let image = '';
  const created: string[] = [];
  beforeAll(async () => {
    image = await ensureTestImage();
  });
  afterAll(async () => {
    for (const id of created) await docker('rm', '-f', id).catch(() => undefined);
  });

  it('describes a container from its create event, keeps it as a tombstone after removal, then forgets it', async () => {
    const c = cache(100, 1500);
    await c.start();
    try {
      expect(c.available).toBe(true);
      const id = await docker(
        'create',
        '--label',
        'outrider.test=tombstone',
        '--name',
        `outrider-ts-${Date.now()}`,
        image,
        'true',
      );
      created.push(id);
      expect(await waitFor(() => c.entry(id)?.inspected === true, 10_000)).toBe(true);
      expect(c.lookup(id)).toMatchObject({
        id,
        labels: { 'outrider.test': 'tombstone' },
        image: { name: 'outrider-test/busybox' },
      });
      await docker('rm', id);
      expect(await waitFor(() => c.entry(id)?.removedAt !== undefined, 10_000)).toBe(true);
      // Still described after removal (late lines, late audit records)…
      expect(c.lookup(id)?.labels).toEqual({ 'outrider.test': 'tombstone' });
      // …until the tombstone TTL has passed.
      expect(await waitFor(() => c.entry(id) === undefined, 10_000)).toBe(true);
    } finally {
      await c.stop();
    }
  });

  it('holds at most cache_size containers, the least recently used going first', async () => {
    const c = cache(2, 60_000);
    await c.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = await docker('create', image, 'true');
        created.push(id);
        ids.push(id);
        expect(await waitFor(() => c.entry(id)?.inspected === true, 10_000)).toBe(true);
      }
      expect(c.size).toBe(2);
      expect(c.entry(ids[0]!)).toBeUndefined();
      expect(c.entry(ids[2]!)).toBeDefined();
    } finally {
      await c.stop();
    }
  });
});
